/**
 * A count with its noun, `1 user`, `0 users`, `3 backups`: every count printed to a person goes through
 * here, so that none reads "1 users". `many` for nouns that do not just take an s (`1 index`, `2 indexes`).
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
