// The release matrix's test files: scripts/run-tests.mjs writes one small file per (release pair,
// compatibility file) that calls runAgainst, so each runs in its own process with its own releases.
import { describe } from 'node:test';
import { CYRUS_RELEASES, RELEASE_ENV, parseReleasePair, releaseMissing, type ReleasePair } from './releases.js';

/** Runs the test file's tests, under one suite named for the releases, against beds of those releases. */
export function runAgainst(pairText: string, testFile: URL): void {
  const pair = parseReleasePair(pairText)!;
  const title = `against ${describePair(pair)}`;
  const missing = releaseMissing(pair.imap) ?? releaseMissing(pair.backup);
  // In CI a missing root is a failure (the bed's own error says how to build it), never a quiet skip.
  if (missing !== undefined && !process.env.CI) {
    describe(title, { skip: missing }, () => undefined);
    return;
  }
  process.env[RELEASE_ENV] = pairText;
  describe(title, async () => {
    await import(testFile.href);
  });
}

function describePair(pair: ReleasePair): string {
  const where = (release: keyof typeof CYRUS_RELEASES) => CYRUS_RELEASES[release].debianSuite ?? 'the host';
  return pair.imap === pair.backup
    ? `Cyrus ${pair.imap} (${where(pair.imap)})`
    : `Cyrus ${pair.imap} IMAP (${where(pair.imap)}) with backupd ${pair.backup} (${where(pair.backup)})`;
}
