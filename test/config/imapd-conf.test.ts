import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { backupServerPaths } from '../../src/config/backup-server.js';
import { parseImapdConf, readImapdConf } from '../../src/config/imapd-conf.js';

const dir = mkdtempSync(join(tmpdir(), 'xbs-imapdconf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('keys are lowercased, comments and blanks skipped, later lines win, backslash continues', () => {
  const conf = parseImapdConf(
    '# backup server\n\nConfigDirectory: /var/lib/cyrus\nbackup_db: skiplist\nbackup_db: twoskip\nadmins: a \\\nb\n',
    '/etc/imapd.conf',
  );
  assert.equal(conf.get('configdirectory'), '/var/lib/cyrus');
  assert.equal(conf.get('BACKUP_DB'), 'twoskip');
  assert.equal(conf.where('backup_db'), '/etc/imapd.conf:5');
  assert.equal(conf.get('admins'), 'a b');
});

test('a line that is not key: value names its file and line', () => {
  assert.throws(() => parseImapdConf('configdirectory: /x\nnonsense\n', '/etc/backup.conf'), /\/etc\/backup\.conf:2: not a "key: value" line/);
});

test('@include is followed relative to the including file', () => {
  writeFileSync(join(dir, 'common.conf'), 'backuppartition-default: /srv/backup\n');
  writeFileSync(join(dir, 'main.conf'), 'configdirectory: /var/lib/cyrus\n@include: common.conf\n');
  assert.equal(readImapdConf(join(dir, 'main.conf')).get('backuppartition-default'), '/srv/backup');
});

test('Cyrus defaults: backups.db under configdirectory, staging under temp_path, twoskip', () => {
  const paths = backupServerPaths(parseImapdConf('configdirectory: /var/lib/cyrus\nbackuppartition-default: /srv/b\nbackuppartition-two: /srv/b2\n', '/etc/b.conf'));
  assert.equal(paths.backupsDb, '/var/lib/cyrus/backups.db');
  assert.equal(paths.backupsDbFormat, 'twoskip');
  assert.equal(paths.stagingPath, '/tmp/backup');
  assert.deepEqual([...paths.partitions], [['default', '/srv/b'], ['two', '/srv/b2']]);
});

test('explicit settings and overrides win', () => {
  const conf = parseImapdConf(
    'configdirectory: /c\nbackup_db_path: /db/backups.db\nbackup_db: skiplist\ntemp_path: /t\nbackup_staging_path: /stage\nbackuppartition-default: /b\n',
    '/etc/b.conf',
  );
  assert.equal(backupServerPaths(conf).backupsDb, '/db/backups.db');
  assert.equal(backupServerPaths(conf).backupsDbFormat, 'skiplist');
  assert.equal(backupServerPaths(conf).stagingPath, '/stage');
  const over = backupServerPaths(conf, { backupsDb: '/o/backups.db', backupsDbFormat: 'flat' });
  assert.equal(over.backupsDb, '/o/backups.db');
  assert.equal(over.backupsDbFormat, 'flat');
});

test('an unreadable backup_db format, a missing configdirectory or partition are explained', () => {
  assert.throws(() => backupServerPaths(parseImapdConf('configdirectory: /c\nbackup_db: zeroskip\nbackuppartition-default: /b\n', '/e.conf')), /\/e\.conf:2: backup_db: "zeroskip" cannot be read/);
  assert.throws(() => backupServerPaths(parseImapdConf('backuppartition-default: /b\n', '/e.conf')), /configdirectory: required/);
  assert.throws(() => backupServerPaths(parseImapdConf('configdirectory: /c\n', '/e.conf')), /no backup partition/);
});
