import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/**
 * Why better-sqlite3's native addon cannot load, or undefined when it can. Every command but --help reads
 * an SQLite file, and without this check the first one fails as "state database …: Could not find module
 * root", blaming a file that is fine. The usual causes are an install the running user cannot traverse
 * (access(2), which the addon's loader uses, ignores CAP_DAC_READ_SEARCH) and an addon built for another
 * Node.js.
 */
export async function sqliteModuleProblem(): Promise<string | undefined> {
  let where = 'its node_modules';
  try {
    where = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
    const { default: Database } = await import('better-sqlite3');
    new Database(':memory:').close();
    return undefined;
  } catch (err) {
    const uid = process.getuid?.();
    return (
      `xbackup-scheduler cannot load better-sqlite3, the SQLite module it reads backupd's indexes and keeps its state with: ${(err as Error).message.split('\n')[0]}\n` +
      `  Check that the user running it${uid === undefined ? '' : ` (uid ${uid})`} can read ${where} and pass every folder above it, ` +
      `and that the module was built for this Node.js ${process.version} (npm rebuild better-sqlite3).`
    );
  }
}
