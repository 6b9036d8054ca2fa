// The daily window rule: open or not, when it opens and closes, across midnight and across DST changes
// (Europe/Berlin: clocks skip 02:00-03:00 on 2026-03-29 and repeat it on 2026-10-25).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { localClock, parseDailyWindow, windowState, type WindowState } from '../../src/units/daily-window.js';

const t = (iso: string) => Date.parse(iso);
const at = (open: boolean, opensAt: string | null, closesAt: string | null, openedAt: string | null): WindowState => ({
  open,
  opensAt: opensAt === null ? null : t(opensAt),
  closesAt: closesAt === null ? null : t(closesAt),
  openedAt: openedAt === null ? null : t(openedAt),
});
const BERLIN = 'Europe/Berlin';

const CASES: Array<[string, string, string, string, WindowState]> = [
  ['winter afternoon: closed, opens at 01:00 CET', '01:00-05:00', BERLIN, '2026-01-15T12:00:00Z', at(false, '2026-01-16T00:00:00Z', '2026-01-16T04:00:00Z', null)],
  ['inside it', '01:00-05:00', BERLIN, '2026-01-16T02:00:00Z', at(true, null, '2026-01-16T04:00:00Z', '2026-01-16T00:00:00Z')],
  ['at its first minute: open', '01:00-05:00', BERLIN, '2026-01-16T00:00:00Z', at(true, null, '2026-01-16T04:00:00Z', '2026-01-16T00:00:00Z')],
  ['at its end: closed, opens tomorrow', '01:00-05:00', BERLIN, '2026-01-16T04:00:00Z', at(false, '2026-01-17T00:00:00Z', '2026-01-17T04:00:00Z', null)],
  ['across midnight, before it', '22:00-04:00', BERLIN, '2026-01-15T12:00:00Z', at(false, '2026-01-15T21:00:00Z', '2026-01-16T03:00:00Z', null)],
  ['across midnight, in the evening part', '22:00-04:00', BERLIN, '2026-01-15T22:30:00Z', at(true, null, '2026-01-16T03:00:00Z', '2026-01-15T21:00:00Z')],
  ['across midnight, in the morning part: opened the day before', '22:00-04:00', BERLIN, '2026-01-16T01:00:00Z', at(true, null, '2026-01-16T03:00:00Z', '2026-01-15T21:00:00Z')],
  ['ending at 00:00, which is midnight', '22:00-00:00', BERLIN, '2026-01-15T22:30:00Z', at(true, null, '2026-01-15T23:00:00Z', '2026-01-15T21:00:00Z')],
  ['ending at 24:00', '22:00-24:00', BERLIN, '2026-01-15T22:30:00Z', at(true, null, '2026-01-15T23:00:00Z', '2026-01-15T21:00:00Z')],
  ['all day: open, its opening is the local day', '00:00-24:00', BERLIN, '2026-01-15T12:00:00Z', at(true, null, '2026-01-15T23:00:00Z', '2026-01-14T23:00:00Z')],
  ['spring forward: 01:00-05:00 is three real hours', '01:00-05:00', BERLIN, '2026-03-28T23:00:00Z', at(false, '2026-03-29T00:00:00Z', '2026-03-29T03:00:00Z', null)],
  ['spring forward: a start the clock skips opens as it jumps past', '02:30-04:00', BERLIN, '2026-03-28T23:00:00Z', at(false, '2026-03-29T01:00:00Z', '2026-03-29T02:00:00Z', null)],
  ['spring forward: inside a window whose start was skipped', '02:30-04:00', BERLIN, '2026-03-29T01:30:00Z', at(true, null, '2026-03-29T02:00:00Z', '2026-03-29T01:00:00Z')],
  ['fall back: 01:00-05:00 is five real hours', '01:00-05:00', BERLIN, '2026-10-24T22:00:00Z', at(false, '2026-10-24T23:00:00Z', '2026-10-25T04:00:00Z', null)],
  ['fall back: 02:00-03:00 opens at the first 02:00 and closes at the second 03:00', '02:00-03:00', BERLIN, '2026-10-24T23:30:00Z', at(false, '2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z', null)],
  ['fall back: in the repeated hour, the same opening (one budget)', '02:00-03:00', BERLIN, '2026-10-25T01:30:00Z', at(true, null, '2026-10-25T02:00:00Z', '2026-10-25T00:00:00Z')],
  ['a zone without DST', '01:00-05:00', 'UTC', '2026-03-29T00:30:00Z', at(false, '2026-03-29T01:00:00Z', '2026-03-29T05:00:00Z', null)],
];

for (const [name, text, zone, now, expected] of CASES) {
  test(`window ${text} in ${zone}: ${name}`, () => assert.deepEqual(windowState(parseDailyWindow(text), t(now), zone), expected));
}

test('without a zone, the process TZ is used (the one the cron schedule uses): the same answers as the named zone', () => {
  const module = fileURLToPath(new URL('../../src/units/daily-window.js', import.meta.url));
  const script = `import(${JSON.stringify(module)}).then((m) => { const cases = JSON.parse(process.argv[1]); process.stdout.write(JSON.stringify(cases.map(([text, now]) => m.windowState(m.parseDailyWindow(text), Date.parse(now))))); });`;
  const berlin = CASES.filter(([, , zone]) => zone === BERLIN).map(([, text, , now]) => [text, now]);
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(berlin)], { env: { ...process.env, TZ: BERLIN }, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), CASES.filter(([, , zone]) => zone === BERLIN).map(([, , , , expected]) => expected));
});

test('localClock writes the wall time in the zone', () => {
  assert.equal(localClock(t('2026-03-29T01:00:00Z'), BERLIN), '03:00');
  assert.equal(localClock(t('2026-10-25T01:30:00Z'), BERLIN), '02:30');
});

test('window texts: accepted', () => {
  assert.deepEqual(parseDailyWindow('01:00-05:00'), { text: '01:00-05:00', startMinute: 60, endMinute: 300 });
  assert.deepEqual(parseDailyWindow(' 22:00 - 4:00 '), { text: '22:00 - 4:00', startMinute: 1320, endMinute: 240 });
  assert.deepEqual(parseDailyWindow('00:00-24:00'), { text: '00:00-24:00', startMinute: 0, endMinute: 1440 });
});

const REFUSED: Array<[string, RegExp]> = [
  ['03:00-03:00', /opens and closes at the same minute, so it is never open; for all day write 00:00-24:00/],
  ['00:00-00:00', /opens and closes at the same minute/],
  ['24:00-05:00', /24:00 only as an end/],
  ['01:00-24:30', /times go from 00:00 to 23:59/],
  ['01:60-05:00', /times go from 00:00 to 23:59/],
  ['1-5', /expected HH:MM-HH:MM/],
  ['01:00', /expected HH:MM-HH:MM/],
  ['', /expected HH:MM-HH:MM/],
];
for (const [text, message] of REFUSED) {
  test(`window text refused: "${text}"`, () => assert.throws(() => parseDailyWindow(text), message));
}
