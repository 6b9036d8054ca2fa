// The reference fixtures in shared/fixtures/cyrusdb (beside this repository, written by
// the real cyr_dbtool and documented in shared/docs/cyrusdb-formats.md), when present.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { readManifest, registerManifestTests } from './helpers/fixture-manifest.js';

// Compiled to dist/test/backupd/cyrusdb; shared/ sits next to the repository root.
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SHARED_FIXTURES = join(REPO_ROOT, '../shared/fixtures/cyrusdb');

describe('shared cyrusdb reference fixtures', () => {
  if (existsSync(join(SHARED_FIXTURES, 'manifest.json'))) {
    registerManifestTests(SHARED_FIXTURES, readManifest(SHARED_FIXTURES));
  } else {
    test.skip(`${SHARED_FIXTURES}/manifest.json not found: shared conformance fixtures not available here`);
  }
});
