// From the bed's figures to a fleet's: what each way of asking costs at a size the bed cannot hold.
// A full listing grows with the mailboxes listed. A LIST with patterns walks all of mailboxes.db however
// few users it names (Cyrus cannot narrow an admin's search by prefix: mboxlist_do_find, "with crossdomains
// or admin you can't prefix at all"), testing each entry against every pattern; so it costs a scan that grows
// with the server's mailboxes and the patterns, plus a STATUS per mailbox found. A STATUS is one lookup.
import type { VariantFigures } from './list-status-measure.js';

export interface Cost {
  wallMs: number;
  cpuMs: number;
}

export interface CostModel {
  /** A full listing (variant a or b) of `mailboxes` mailboxes. */
  full(key: 'a' | 'b', mailboxes: number): Cost;
  /** (c): `users` users in LISTs of `groupSize`, on a server of `serverMailboxes` mailboxes. */
  byUsers(users: number, groupSize: number, serverMailboxes: number, mailboxesPerUser: number): Cost;
  /** (d): one STATUS per mailbox. */
  byStatus(mailboxes: number): Cost;
  /** The model's (c) at the bed's size against the measured sweep, per group size: a check of the model. */
  check: Map<number, { predicted: Cost; measured: Cost }>;
}

/** Median per sweep, divided by what the sweep covers. */
function per(figures: VariantFigures, divisor: number): Cost {
  return { wallMs: figures.wall.median / divisor, cpuMs: figures.cpu.median / divisor };
}

const add = (x: Cost, y: Cost): Cost => ({ wallMs: x.wallMs + y.wallMs, cpuMs: x.cpuMs + y.cpuMs });
const scale = (x: Cost, k: number): Cost => ({ wallMs: x.wallMs * k, cpuMs: x.cpuMs * k });
const atLeastZero = (x: Cost): Cost => ({ wallMs: Math.max(x.wallMs, 0), cpuMs: Math.max(x.cpuMs, 0) });

export interface BedSize {
  users: number;
  mailboxesPerUser: number;
}

export function costModel(figures: readonly VariantFigures[], bed: BedSize, groupSizes: readonly number[]): CostModel {
  const bedMailboxes = bed.users * bed.mailboxesPerUser;
  const byKey = new Map(figures.map((f) => [f.variant.key, f]));
  const get = (key: string) => byKey.get(key) ?? missing(key);
  const perMailbox = (key: string) => per(get(key), bedMailboxes);
  const largest = Math.max(...groupSizes);
  // Scan cost per command and mailboxes.db entry, linear in the number of patterns (two per user).
  const scanSmall = per(get('scan1'), get('scan1').variant.commands.length * bedMailboxes);
  const scanLarge = per(get(`scan${largest}`), get(`scan${largest}`).variant.commands.length * bedMailboxes);
  const perPattern =
    largest > 1 ? atLeastZero(scale(add(scanLarge, scale(scanSmall, -1)), 1 / (2 * largest - 2))) : { wallMs: 0, cpuMs: 0 };
  const scanPerEntry = (patterns: number) => atLeastZero(add(scanSmall, scale(perPattern, patterns - 2)));
  // (b) is one scan with one pattern plus a STATUS per mailbox: what is left over is the STATUS.
  const statusInList = atLeastZero(add(perMailbox('b'), scale(scanPerEntry(1), -1)));

  const byUsers = (users: number, groupSize: number, serverMailboxes: number, mailboxesPerUser: number): Cost => {
    const commands = Math.ceil(users / groupSize);
    const scans = scale(scanPerEntry(2 * Math.min(groupSize, users)), commands * serverMailboxes);
    return add(scans, scale(statusInList, users * mailboxesPerUser));
  };
  const check = new Map(
    groupSizes.map((size) => [size, { predicted: byUsers(bed.users, size, bedMailboxes, bed.mailboxesPerUser), measured: per(get(`c${size}`), 1) }]),
  );
  return {
    full: (key, mailboxes) => scale(perMailbox(key), mailboxes),
    byUsers,
    byStatus: (mailboxes) => scale(perMailbox('d'), mailboxes),
    check,
  };
}

function missing(key: string): never {
  throw new Error(`no figures for variant ${key}`);
}
