// What a cyr_dbtool batch should leave committed, computed independently of
// any file format: the reference the reader's results are compared with.
import { compareSignedChar } from '../../../../src/backupd/cyrusdb/skiplist.js';
import type { CyrusDbEntry } from '../../../../src/backupd/cyrusdb/types.js';
import type { BatchCommand } from './cyr-dbtool.js';

/** Live pairs keyed by the key's hex. */
export type ModelState = ReadonlyMap<string, CyrusDbEntry>;

/**
 * The state after every committed transaction, in order, starting with `initial`.
 * Commands outside BEGIN/COMMIT commit one by one; ABORT and a transaction
 * still open at the end are discarded, as cyr_dbtool does.
 */
export function committedStates(commands: readonly BatchCommand[], initial: ModelState = new Map()): ModelState[] {
  const states: ModelState[] = [initial];
  let committed = new Map(initial);
  let working: Map<string, CyrusDbEntry> | undefined;
  for (const command of commands) {
    switch (command.op) {
      case 'BEGIN':
        working = new Map(committed);
        break;
      case 'COMMIT':
        if (working !== undefined) {
          committed = working;
          states.push(committed);
          working = undefined;
        }
        break;
      case 'ABORT':
        working = undefined;
        break;
      case 'SET':
      case 'DELETE': {
        const target = working ?? new Map(committed);
        if (command.op === 'SET') target.set(command.key.toString('hex'), { key: command.key, value: command.value });
        else target.delete(command.key.toString('hex'));
        if (working === undefined) {
          committed = target;
          states.push(committed);
        }
        break;
      }
      case 'SHOW':
        break;
    }
  }
  return states;
}

/** The state's pairs in the order the backend keeps them (flat's mbox order is not modelled). */
export function entriesInOrder(state: ModelState, backend: 'twoskip' | 'skiplist'): CyrusDbEntry[] {
  const compare = backend === 'twoskip' ? Buffer.compare : compareSignedChar;
  return [...state.values()].sort((a, b) => compare(a.key, b.key));
}
