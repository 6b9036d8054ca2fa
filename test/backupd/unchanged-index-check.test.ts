import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BackupFiles } from '../../src/backupd/backups-listing.js';
import { fingerprintOf, type BackupFingerprint } from '../../src/backupd/file-fingerprint.js';
import { ScanWorkers } from '../../src/backupd/scan-workers.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-unchanged-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function backups(prefix: string, count: number): BackupFiles {
  const data = Array.from({ length: count }, (_, i) => join(dir, `${prefix}${i}`));
  for (const [i, file] of data.entries()) {
    writeFileSync(file, `data ${i}`);
    writeFileSync(`${file}.index`, `index ${i}`);
  }
  return { index: data.map((f) => `${f}.index`), data };
}

const fingerprints = (files: BackupFiles): Array<BackupFingerprint | undefined> =>
  files.index.map((index, i) => ({ index: fingerprintOf(index)!, data: fingerprintOf(files.data[i]!)! }));

/** A new file of the same size and content where the old one was. */
function recreate(file: string): void {
  const bytes = readFileSync(file);
  rmSync(file);
  writeFileSync(file, bytes);
}

for (const [name, options] of [
  ['on this thread', { parallelFrom: Number.POSITIVE_INFINITY }],
  ['shared with worker threads', { parallelFrom: 0, workers: 2 }],
] as const) {
  test(`${name}: only a backup whose index and data file both kept their inode, size and mtime is unchanged`, async () => {
    const files = backups(name.replaceAll(' ', '-'), 700);
    const expected = fingerprints(files);
    const check = new ScanWorkers(options);
    try {
      assert.ok((await check.unchanged(files, expected)).every(Boolean));

      const later = new Date(Date.now() + 5000);
      writeFileSync(files.index[10]!, 'index 10, now longer');
      utimesSync(files.index[20]!, later, later);
      rmSync(files.index[30]!);
      recreate(files.index[40]!);
      writeFileSync(files.data[60]!, 'data 60, now longer');
      utimesSync(files.data[70]!, later, later);
      rmSync(files.data[80]!);
      recreate(files.data[90]!);
      const withoutMemory = expected.map((e, i) => (i === 50 ? undefined : e));

      const verdicts = await check.unchanged(files, withoutMemory);
      assert.deepEqual(
        verdicts.flatMap((unchanged, i) => (unchanged ? [] : [i])),
        [10, 20, 30, 40, 50, 60, 70, 80, 90],
      );
      // The workers hold the first lists; new ones replace them.
      const other = backups(`${name.replaceAll(' ', '-')}-other`, 300);
      assert.ok((await check.unchanged(other, fingerprints(other))).every(Boolean));
      assert.deepEqual(await check.unchanged(other, other.index.map(() => undefined)), other.index.map(() => false));
    } finally {
      await check.close();
    }
  });
}
