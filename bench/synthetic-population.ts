/** One user of the synthetic backup server: who, and how old their backup is. */
export interface SyntheticUser {
  userid: string;
  /** How many chunks the backup has; 0 is a backup that never received one (`[unknown]` in ctl_backups list). */
  chunks: number;
  /** ts_end of the latest chunk, seconds since the epoch; null when there is no chunk. */
  lastBackup: number | null;
  /** The mkstemp-style suffix of the data file name. */
  suffix: string;
}

export const MAX_CHUNKS = 5;

/** How many chunks a backed-up user has, drawn from the population's own random numbers. */
export type ChunkCounts = (random: () => number) => number;

/** The scan bench's: 1 to MAX_CHUNKS, evenly. */
export const FEW_CHUNKS: ChunkCounts = (random) => 1 + Math.floor(random() * MAX_CHUNKS);

const HOUR = 3600;
const DAY = 24 * HOUR;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A reproducible mix of users: mostly `user00001`, some `first.last`, some `@example.com`; ~70 % backed up
 * in the last 22 h, ~30 % between 26 h and 60 days ago, a few without any chunk. No age falls near 24 h,
 * so a user cannot turn stale between two tools' runs and make them disagree.
 */
export function syntheticPopulation(count: number, now: number, chunkCounts: ChunkCounts = FEW_CHUNKS): SyntheticUser[] {
  const random = mulberry32(0x5ca1ab1e);
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low));
  const users: SyntheticUser[] = [];
  for (let i = 1; i <= count; i++) {
    const serial = String(i).padStart(5, '0');
    const kind = i % 10;
    const userid = kind === 7 || kind === 8 ? `anna.berg${serial}` : kind === 9 ? `user${serial}@example.com` : `user${serial}`;
    const suffix = Array.from({ length: 6 }, () => SUFFIX_ALPHABET[between(0, SUFFIX_ALPHABET.length)]).join('');
    const roll = random();
    if (roll < 0.005) {
      users.push({ userid, chunks: 0, lastBackup: null, suffix });
      continue;
    }
    const age = roll < 0.7 ? between(5 * 60, 22 * HOUR) : between(26 * HOUR, 60 * DAY);
    users.push({ userid, chunks: chunkCounts(random), lastBackup: Math.floor(now / 1000) - age, suffix });
  }
  return users;
}

/** What `ctl_backups list -t <hours>` should print: no chunk, or the latest one at least that old. */
export function isStaleForCtlBackups(user: SyntheticUser, hours: number, now: number): boolean {
  return user.lastBackup === null || Math.floor(now / 1000) - user.lastBackup >= hours * HOUR;
}

/** Small seeded PRNG: the same population on every run, so figures compare across runs. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
