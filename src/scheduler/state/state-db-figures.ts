import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { MIGRATIONS } from './migrations.js';

export interface StateDbFigures {
  file: string;
  exists: boolean;
  /** The database file, and its write-ahead log beside it (what a checkpoint has not yet moved in). */
  bytes?: number;
  walBytes?: number;
  /** PRAGMA user_version, and the one this release writes. */
  schemaVersion?: number;
  knownSchemaVersion: number;
  rowsPerTable?: Record<string, number>;
  /** Why the file could not be read, when it exists. */
  error?: string;
}

/** Sizes, schema version and rows per table of the state database, read only; never creates or migrates it. */
export function stateDbFigures(file: string): StateDbFigures {
  const figures: StateDbFigures = { file, exists: false, knownSchemaVersion: MIGRATIONS.length };
  const size = (f: string) => statSync(f, { throwIfNoEntry: false })?.size;
  try {
    figures.bytes = size(file);
    if (figures.bytes === undefined) return figures;
    figures.exists = true;
    figures.walBytes = size(`${file}-wal`) ?? 0;
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      figures.schemaVersion = db.pragma('user_version', { simple: true }) as number;
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
      figures.rowsPerTable = Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT count(*) FROM "${t.replaceAll('"', '""')}"`).pluck().get() as number]));
    } finally {
      db.close();
    }
  } catch (err) {
    figures.error = (err as Error).message;
  }
  return figures;
}
