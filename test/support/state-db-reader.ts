import Database from 'better-sqlite3';

export interface AttemptRow {
  id: number;
  userid: string;
  server: string;
  kind: string;
  grp: number | null;
  pattern: string;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  error: string | null;
  /** 1 when the server may have gone on with it (a timeout, a dropped connection, a crash). */
  in_doubt: number;
}

/** The scheduler's recorded attempts, read the way an auditor would: straight from its state database. */
export function readAttempts(stateFile: string): AttemptRow[] {
  const db = new Database(stateFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM attempt ORDER BY id').all() as AttemptRow[];
  } finally {
    db.close();
  }
}

/** The largest number of XBACKUP commands that were running at the same moment, per server. */
export function maxCommandsInFlight(attempts: readonly AttemptRow[], server: string, kind?: string): number {
  const commands = new Map<string, { start: number; end: number }>();
  for (const a of attempts) {
    if (a.server !== server || (kind && a.kind !== kind)) continue;
    const key = `${a.pattern}@${a.started_at}`;
    const end = a.ended_at ?? Number.MAX_SAFE_INTEGER;
    const c = commands.get(key);
    commands.set(key, { start: a.started_at, end: Math.max(end, c?.end ?? 0) });
  }
  const events = [...commands.values()].flatMap((c) => [[c.start, 1] as const, [c.end, -1] as const]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of events) most = Math.max(most, (now += d));
  return most;
}
