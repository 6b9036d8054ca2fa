// Every committed fixture (test/fixtures/cyrusdb, made by tools/make-cyrusdb-fixtures.ts
// with the real cyr_dbtool) must read exactly as Cyrus showed it, or fail with its error code.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { CyrusDbErrorCode } from '../../../src/backupd/cyrusdb/errors.js';
import { readManifest, registerManifestTests } from './helpers/fixture-manifest.js';

// Compiled to dist/test/backupd/cyrusdb; the fixtures stay in the source tree.
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURES = join(REPO_ROOT, 'test/fixtures/cyrusdb');
const manifest = readManifest(FIXTURES);

describe('committed cyrusdb fixtures', () => {
  registerManifestTests(FIXTURES, manifest);

  test('the manifest lists every file in the directory', () => {
    const listed = new Set(manifest.flatMap((fixture) => [fixture.file, ...(fixture.expected_json ? [fixture.expected_json] : [])]));
    const present = readdirSync(FIXTURES).filter((name) => name !== 'manifest.json');
    assert.deepEqual(present.filter((name) => !listed.has(name)), []);
    assert.deepEqual([...listed].filter((name) => !present.includes(name)), []);
  });

  test('good files exist for every backend, and every error a byte edit can produce is covered', () => {
    for (const backend of ['twoskip', 'skiplist', 'flat']) {
      assert.ok(manifest.some((fixture) => fixture.kind === 'good' && fixture.backend === backend), backend);
    }
    const producible: CyrusDbErrorCode[] = [
      'EMPTY_FILE', 'TRUNCATED', 'BAD_MAGIC', 'BAD_VERSION', 'HEADER_CRC', 'RECORD_HEAD_CRC', 'RECORD_TAIL_CRC',
      'BAD_RECORD', 'BAD_ORDER', 'BAD_POINTER', 'COUNT_MISMATCH', 'BAD_HEADER', 'BAD_LINE',
    ];
    const covered = new Set(manifest.map((fixture) => fixture.expected_error));
    assert.deepEqual(producible.filter((code) => !covered.has(code)), []);
  });
});
