// The backups maintenance-run.ts measures: real ones, made by real XBACKUPs on the test bed. Each user
// gets mail and a first backup, then `rounds` refreshes (a chunk each, half of them carrying a new
// message), and the hot ones `hotRounds` more, so compaction meets backups of many chunks as a busy
// server's are. A few large users, refreshed like the typical ones, give the fit of cost per MiB backups
// of tens of MiB to rest on.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { CyrusTestBed } from '../test/cyrus/testbed.js';

/** Messages a user starts with: 10, 20, 30 or 40, so backups differ in size and a fit can tell fixed cost from cost per MiB. */
const messagesOf = (i: number) => 10 * (1 + (i % 4));
/** Fixed width, so `user.mt*`, `user.mh*` and `user.ml*` name exactly one group each. */
const PREFIXES = { typical: 'mt', hot: 'mh', large: 'ml' } as const;
/** One APPEND's messages at most: a large user's mail goes in several. */
const APPEND_BATCH = 200;
/** A hot user gets new mail every this many of its extra refreshes (the others append empty chunks). */
const HOT_MAIL_EVERY = 4;

export interface FleetShape {
  /** Each message's body: random base64, so gzip cannot shrink it and the data file holds what real mail would. */
  messageBytes: number;
  typical: number;
  hot: number;
  large: number;
  largeBytes: number;
  rounds: number;
  hotRounds: number;
}

export type Group = keyof typeof PREFIXES;
export type Fleet = Record<Group, string[]>;

/** One backup on disk: its data file, chunk rows in its index, and the data file's size. */
export interface BackupShape {
  dataPath: string;
  chunks: number;
  dataBytes: number;
}

function userids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(5, '0')}`);
}

export async function buildFleet(bed: CyrusTestBed, shape: FleetShape, progress: (line: string) => void): Promise<Fleet> {
  const fleet: Fleet = { typical: userids(PREFIXES.typical, shape.typical), hot: userids(PREFIXES.hot, shape.hot), large: userids(PREFIXES.large, shape.large) };
  const everyone = [...fleet.typical, ...fleet.hot, ...fleet.large];
  const client = await bed.connect();
  let serial = 0;
  const deliver = async (userid: string, count: number) => {
    for (let done = 0; done < count; done += APPEND_BATCH) {
      const messages = Array.from({ length: Math.min(APPEND_BATCH, count - done) }, () => message(userid, ++serial, shape.messageBytes));
      const response = await client.append(bed.mailboxName(userid), messages, { timeoutMs: 600_000 });
      if (response.status !== 'OK') throw new Error(`APPEND to ${userid} failed: ${response.status} ${response.text}`);
    }
  };
  for (const [i, userid] of [...fleet.typical, ...fleet.hot].entries()) {
    await bed.createUser(userid, { folders: ['Sent'] });
    await deliver(userid, messagesOf(i));
  }
  for (const userid of fleet.large) {
    await bed.createUser(userid, { folders: ['Sent'] });
    await deliver(userid, Math.max(1, Math.round(shape.largeBytes / shape.messageBytes)));
  }
  const backUp = async (group: Group) => {
    if (fleet[group].length === 0) return;
    const response = await bed.xbackup(`user.${PREFIXES[group]}*`, 'imap1', { timeoutMs: 600_000 });
    if (response.status !== 'OK') throw new Error(`XBACKUP user.${PREFIXES[group]}* failed: ${response.status} ${response.text}`);
  };
  for (let round = 0; round <= shape.rounds; round++) {
    // Round 0 is the first backup; later rounds bring a message to every other user, alternating.
    if (round > 0) {
      for (const [i, userid] of everyone.entries()) if ((i + round) % 2 === 0) await deliver(userid, 1);
    }
    for (const group of ['typical', 'hot', 'large'] as const) await backUp(group);
    progress(`refresh ${round}/${shape.rounds} of all ${everyone.length} users done`);
  }
  for (let round = 1; round <= shape.hotRounds && fleet.hot.length > 0; round++) {
    if (round % HOT_MAIL_EVERY === 0) for (const userid of fleet.hot) await deliver(userid, 1);
    await backUp('hot');
    if (round % 20 === 0 || round === shape.hotRounds) progress(`hot refresh ${round}/${shape.hotRounds} of ${fleet.hot.length} users done`);
  }
  await client.logout();
  return fleet;
}

function message(userid: string, serial: number, bytes: number): Buffer {
  const headers = [
    'From: Bench Sender <sender@example.net>',
    `To: ${userid}@example.org`,
    `Subject: maintenance bench ${serial}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <xbs-maintenance-${serial}-${process.pid}@example.net>`,
    'Content-Type: text/plain; charset=us-ascii',
  ].join('\r\n');
  const body = (randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes).match(/.{1,76}/g) ?? []).join('\r\n');
  return Buffer.from(`${headers}\r\n\r\n${body}\r\n`);
}

/** Read while no Cyrus tool runs on it: the index is opened read-only, beside its data file as backupd keeps it. */
export function backupShape(dataPath: string): BackupShape {
  const db = new Database(`${dataPath}.index`, { readonly: true, fileMustExist: true });
  try {
    const { n } = db.prepare('SELECT count(*) AS n FROM chunk').get() as { n: number };
    return { dataPath, chunks: n, dataBytes: statSync(dataPath).size };
  } finally {
    db.close();
  }
}
