/** Repeated timings of one thing, in ms. */
export class Samples {
  readonly values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  get median(): number {
    const sorted = [...this.values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }

  get min(): number {
    return Math.min(...this.values);
  }

  get max(): number {
    return Math.max(...this.values);
  }
}
