import type { LiveState } from './live-mailboxes.js';
import type { MailboxNaming } from './mailbox-names.js';

/** A user found on an IMAP server (its INBOX), with the size of its mail when the server could say. */
export interface DiscoveredUser {
  userid: string;
  server: string;
  sizeBytes: number | null;
  /** Its mailboxes as the server reported them, to compare with its backup; null when they cannot be (time alone judges it). */
  live: LiveState | null;
}

export interface ServerDiscovery {
  name: string;
  ok: boolean;
  error: string | null;
  /** The users this backup server is responsible for (servers[].users). */
  users: DiscoveredUser[];
  /** Every user the server has, responsible for or not: a batch pattern must match none of the others. */
  allUserids: string[];
  /** Its shared mailboxes as XBACKUP takes them (`shared.news`, `news@example.com`); none unless servers[].sharedMailboxes. */
  sharedMailboxes: string[];
  /** Why none of its users could be compared with their backups (time alone judges them), or null. */
  timeOnly: string | null;
  /** Users whose mailboxes it did not describe fully, with why: the first few. */
  liveProblems: string[];
  /** How the server names mailboxes; null when it could not be asked. */
  naming: MailboxNaming | null;
  /** When it was asked, and when it answered or failed (ms); both when it was found paused, if it was not asked. */
  askedAt: number;
  endedAt: number;
}

/** What one discovery pass over the configured IMAP servers found; a server that could not be asked says why. */
export interface FleetDiscovery {
  /** When the first server was asked (the earliest, when the servers were asked at different times): a user created after this may be missing from the lists. */
  startedAt: number;
  finishedAt: number;
  servers: ServerDiscovery[];
}
