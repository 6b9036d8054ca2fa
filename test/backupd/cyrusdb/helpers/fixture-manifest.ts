// The manifest format shared by our committed fixtures (test/fixtures/cyrusdb)
// and the reference set in shared/fixtures/cyrusdb, and a driver that turns
// every manifest entry into a node:test test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CyrusDbError, type CyrusDbErrorCode } from '../../../../src/backupd/cyrusdb/errors.js';
import { parseFlat } from '../../../../src/backupd/cyrusdb/flat.js';
import { parseSkiplist } from '../../../../src/backupd/cyrusdb/skiplist.js';
import { readCyrusDb } from '../../../../src/backupd/cyrusdb/snapshot.js';
import { parseTwoskip } from '../../../../src/backupd/cyrusdb/twoskip.js';
import type { CyrusDbBackend, CyrusDbEntry } from '../../../../src/backupd/cyrusdb/types.js';

export interface FixtureManifestEntry {
  file: string;
  backend: CyrusDbBackend;
  kind: 'good' | 'corrupt';
  /** For good fixtures: the file holding the ExpectedEntries. */
  expected_json?: string;
  /** For corrupt fixtures. */
  expected_error?: CyrusDbErrorCode;
  note?: string;
}

/** NAME.expected.json: what Cyrus shows, keys and values as hex. */
export interface ExpectedEntries {
  backend: CyrusDbBackend;
  count: number;
  entries: [keyHex: string, valueHex: string][];
}

export function toHexPairs(entries: readonly CyrusDbEntry[]): [string, string][] {
  return entries.map(({ key, value }) => [key.toString('hex'), value.toString('hex')]);
}

const PARSERS: Record<CyrusDbBackend, (bytes: Buffer, file: string) => CyrusDbEntry[]> = {
  twoskip: parseTwoskip,
  skiplist: parseSkiplist,
  flat: parseFlat,
};

export function readManifest(dir: string): FixtureManifestEntry[] {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as FixtureManifestEntry[];
}

/** One test per fixture: good ones give exactly the expected entries, corrupt ones the expected error. */
export function registerManifestTests(dir: string, manifest: readonly FixtureManifestEntry[]): void {
  for (const fixture of manifest) {
    const path = join(dir, fixture.file);
    if (fixture.kind === 'good') {
      test(`${fixture.file}: returns exactly what Cyrus shows`, async () => {
        const expected = JSON.parse(readFileSync(join(dir, fixture.expected_json!), 'utf8')) as ExpectedEntries;
        const snapshot = await readCyrusDb(path, { backend: fixture.backend });
        assert.equal(snapshot.backend, fixture.backend);
        assert.equal(snapshot.attempts, 1);
        assert.deepEqual(toHexPairs(snapshot.entries), expected.entries);
        assert.equal(snapshot.entries.length, expected.count);
      });
    } else {
      test(`${fixture.file}: fails with ${fixture.expected_error}`, async () => {
        const bytes = readFileSync(path);
        assert.throws(
          () => PARSERS[fixture.backend](bytes, path),
          (error) => error instanceof CyrusDbError && error.code === fixture.expected_error && error.file === path,
        );
        await assert.rejects(readCyrusDb(path, { backend: fixture.backend }), (error) => {
          assert.ok(error instanceof CyrusDbError);
          assert.equal(error.code, fixture.expected_error);
          assert.match(error.message, new RegExp(`${fixture.file}.*\\[${fixture.expected_error}\\]`));
          return true;
        });
      });
    }
  }
}
