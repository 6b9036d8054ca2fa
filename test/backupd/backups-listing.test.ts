import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BackupsDbReader } from '../../src/backupd/backups-listing.js';
import { writeFlatBackupsDb } from '../support/synthetic-backup.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-listing-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('one listing while backups.db is unchanged, a new one once it changes, none while it does not exist', async () => {
  const file = join(dir, 'backups.db');
  const reader = new BackupsDbReader({ backupsDb: file, backupsDbFormat: 'flat' });
  assert.equal(await reader.listing(), null);

  writeFlatBackupsDb(file, [['anne', '/b/a/anne_X']]);
  const anHourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(file, anHourAgo, anHourAgo);
  const first = await reader.listing();
  assert.deepEqual(first?.entries, [{ userid: 'anne', dataFile: '/b/a/anne_X' }]);
  assert.deepEqual(first?.files, { index: ['/b/a/anne_X.index'], data: ['/b/a/anne_X'] });
  assert.equal(await reader.listing(), first, 'the scanner and each verification share the listing that was read');

  writeFlatBackupsDb(file, [['anne', '/b/a/anne_X'], ['bob', '/b/b/bob_Y']]);
  const second = await reader.listing();
  assert.notEqual(second, first);
  assert.equal(second?.dataFiles.get('bob'), '/b/b/bob_Y');

  rmSync(file);
  assert.equal(await reader.listing(), null);
});
