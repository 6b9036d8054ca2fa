export type CheckVerdict = 'PASS' | 'WARN' | 'FAIL';

/** One thing `check` looked at, and what it found. */
export interface CheckLine {
  verdict: CheckVerdict;
  what: string;
  detail: string;
}

/** `PASS config: …`, or the line as JSON. */
export function checkLine(line: CheckLine, json: boolean): string {
  return json ? `${JSON.stringify(line)}\n` : `${line.verdict} ${line.what}: ${line.detail}\n`;
}
