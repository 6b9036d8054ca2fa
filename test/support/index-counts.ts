import Database from 'better-sqlite3';
import type { CyrusTestBed } from '../cyrus/testbed.js';

/**
 * Rows of `table` in each user's backup index, read-only: `chunk` (one per XBACKUP that reached backupd,
 * even with nothing new) or `message` (what a restore would bring back).
 */
export async function indexCounts(bed: CyrusTestBed, table: 'chunk' | 'message'): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const [userid, dataFile] of await bed.cyrDbtoolShowBackupsDb()) {
    const db = new Database(`${dataFile}.index`, { readonly: true, fileMustExist: true });
    try {
      counts.set(userid, (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    } finally {
      db.close();
    }
  }
  return counts;
}
