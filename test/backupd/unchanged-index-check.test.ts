import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fingerprintOf } from '../../src/backupd/index-read.js';
import { UnchangedIndexCheck } from '../../src/backupd/unchanged-index-check.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-unchanged-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function files(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const file = join(dir, `${prefix}${i}.index`);
    writeFileSync(file, `index ${i}`);
    return file;
  });
}

for (const [name, options] of [
  ['on this thread', { parallelFrom: Number.POSITIVE_INFINITY }],
  ['shared with worker threads', { parallelFrom: 0, workers: 2 }],
] as const) {
  test(`${name}: only an index whose inode, size and mtime all held is unchanged`, async () => {
    const list = files(name.replaceAll(' ', '-'), 700);
    const expected = list.map((f) => fingerprintOf(f));
    const check = new UnchangedIndexCheck(options);
    try {
      assert.ok((await check.check(list, expected)).every(Boolean));

      writeFileSync(list[10]!, 'index 10, now longer');
      const later = new Date(Date.now() + 5000);
      utimesSync(list[20]!, later, later);
      rmSync(list[30]!);
      rmSync(list[40]!);
      writeFileSync(list[40]!, 'index 40'); // same size and content, new inode
      const withoutMemory = expected.map((e, i) => (i === 50 ? undefined : e));
      assert.equal(statSync(list[40]!).size, expected[40]!.size);

      const verdicts = await check.check(list, withoutMemory);
      assert.deepEqual(
        verdicts.flatMap((unchanged, i) => (unchanged ? [] : [i])),
        [10, 20, 30, 40, 50],
      );
      // The workers hold the first list; a new one replaces it.
      const other = files(`${name.replaceAll(' ', '-')}-other`, 300);
      assert.ok((await check.check(other, other.map((f) => fingerprintOf(f)))).every(Boolean));
      assert.deepEqual(await check.check(other, other.map(() => undefined)), other.map(() => false));
    } finally {
      await check.close();
    }
  });
}
