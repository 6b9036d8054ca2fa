// What a cycle came to, as an admin judges it: the table of cases behind last success, cycles_total and /healthz.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cycleResult, type CycleFacts } from '../../src/scheduler/cycle-result.js';

const ran: CycleFacts = { error: null, attempts: [], held: [], serversNotAsked: [], pausedServers: [] };
const ok = { outcome: 'ok' as const, locked: false };
const no = { outcome: 'no' as const, locked: false };

const CASES: Array<[string, CycleFacts, ReturnType<typeof cycleResult>]> = [
  ['nothing was due', ran, { result: 'success', why: [] }],
  ['every attempt succeeded', { ...ran, attempts: [ok, ok, ok] }, { result: 'success', why: [] }],
  ['backupd down: 8 of 8 attempts failed', { ...ran, attempts: Array.from({ length: 8 }, () => no) }, { result: 'failure', why: ['8 of 8 attempts failed'] }],
  ['one attempt of three unverified', { ...ran, attempts: [ok, ok, { outcome: 'unverified', locked: false }] }, { result: 'failure', why: ['1 of 3 attempts failed'] }],
  ['an attempt cut off (in doubt)', { ...ran, attempts: [{ outcome: 'error', locked: false }] }, { result: 'failure', why: ['1 of 1 attempt failed'] }],
  ['Mailbox is locked: another backup of the user runs, not a failure', { ...ran, attempts: [ok, { outcome: 'no', locked: true }] }, { result: 'success', why: [] }],
  [
    'due users held while their server is paused',
    { ...ran, held: [{ reason: 'server-paused', server: 'imap1' }, { reason: 'server-paused', server: 'imap1' }] },
    { result: 'failure', why: ['2 due users left undone: their IMAP server paused or not reachable'] },
  ],
  ['a due user on no server of this cycle', { ...ran, held: [{ reason: 'server-unknown', server: null }] }, { result: 'failure', why: ['1 due user left undone: its IMAP server paused or not reachable'] }],
  [
    "the scheduler's own pacing is no failure",
    { ...ran, attempts: [ok], held: [{ reason: 'backoff', server: 'imap1' }, { reason: 'bootstrap-pause', server: 'imap1' }, { reason: 'max-per-cycle', server: 'imap1' }, { reason: 'in-doubt', server: 'imap1' }, { reason: 'in-flight', server: 'imap1' }, { reason: 'bootstrap-group-full', server: 'imap1' }] },
    { result: 'success', why: [] },
  ],
  [
    "the admin's own windows and budget are no failure, even on a paused server",
    {
      ...ran,
      held: [{ reason: 'bootstrap-window', server: 'imap1' }, { reason: 'bootstrap-budget', server: 'imap1' }, { reason: 'policy-window', server: 'imap1' }, { reason: 'policy-window', server: 'imap2' }],
      pausedServers: ['imap1'],
    },
    { result: 'success', why: [] },
  ],
  [
    "a user held while ctl_backups is at its backup (the maintenance lane) is the scheduler's own pacing, even on a paused server",
    { ...ran, attempts: [ok], held: [{ reason: 'maintenance', server: 'imap1' }], pausedServers: ['imap1'] },
    { result: 'success', why: [] },
  ],
  [
    'users waiting out their backoff on a paused server (backupd down): undone because of the server',
    { ...ran, held: [{ reason: 'backoff', server: 'imap1' }, { reason: 'in-doubt', server: 'imap1' }, { reason: 'backoff', server: 'imap2' }], pausedServers: ['imap1'] },
    { result: 'failure', why: ['2 due users left undone: their IMAP server paused or not reachable'] },
  ],
  ['an IMAP server could not be asked for its users', { ...ran, attempts: [ok], serversNotAsked: ['imap2'] }, { result: 'failure', why: ['could not ask imap2 for its users'] }],
  [
    'several reasons at once',
    { ...ran, attempts: [no, ok], held: [{ reason: 'server-paused', server: 'imap1' }], serversNotAsked: ['imap1', 'imap2'] },
    { result: 'failure', why: ['1 of 2 attempts failed', '1 due user left undone: its IMAP server paused or not reachable', 'could not ask imap1, imap2 for their users'] },
  ],
  ['backups.db unreadable: the cycle could not run', { ...ran, error: 'backups.db: CRC mismatch' }, { result: 'error', why: ['the cycle could not run'] }],
];

for (const [name, facts, expected] of CASES) {
  test(`cycle result: ${name}`, () => assert.deepEqual(cycleResult(facts), expected));
}
