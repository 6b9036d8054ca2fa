import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from './wait-for.js';

describe('waitFor', () => {
  test('resolves with the first value that is neither undefined nor false, polling until then', async () => {
    let polls = 0;
    const value = await waitFor(() => (++polls >= 3 ? { polls } : undefined), { what: 'the third poll', timeoutMs: 60_000, intervalMs: 1 });
    assert.deepEqual(value, { polls: 3 });
    assert.equal(await waitFor(() => 0, { what: 'a zero', timeoutMs: 60_000 }), 0, '0 is a value, not a miss');
  });

  test('fails naming what it waited for and what the last poll saw', async () => {
    let polls = 0;
    await assert.rejects(
      waitFor(() => (polls++, false), { what: 'a thing that never happens', timeoutMs: 1, intervalMs: 1, describe: () => `${polls} polls` }),
      (err: Error) => {
        assert.match(err.message, /^waited 0\.0 s for a thing that never happens, in vain; last seen: \d+ polls$/);
        return true;
      },
    );
    await assert.rejects(waitFor(() => undefined, { what: 'nothing', timeoutMs: 1, intervalMs: 1 }), /last seen: the condition returned undefined/);
  });

  test('polls once more after the deadline, so a poll delayed past it still counts', async () => {
    let polls = 0;
    // The first poll itself outlasts the deadline; the one after it succeeds.
    const value = await waitFor(
      async () => {
        polls++;
        if (polls === 1) await new Promise((resolve) => setTimeout(resolve, 20));
        return polls === 2 || undefined;
      },
      { what: 'the second poll', timeoutMs: 5, intervalMs: 1 },
    );
    assert.equal(value, true);
  });

  test('a condition that throws ends the wait with its error', async () => {
    await assert.rejects(waitFor(() => assert.fail('the process under test exited'), { what: 'anything', timeoutMs: 60_000 }), /the process under test exited/);
  });
});
