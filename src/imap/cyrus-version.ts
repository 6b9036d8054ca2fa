export interface CyrusVersion {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

/** From the ID response's version (`3.6.1-Debian-3.6.1-4+deb12u5`) or the greeting (`Cyrus IMAP 3.6.1-... server ready`). */
export function parseCyrusVersion(idVersion: string | undefined, greeting: string | undefined): CyrusVersion | null {
  const text = idVersion ?? /Cyrus IMAP[d]? v?(\S+)/i.exec(greeting ?? '')?.[1];
  const m = text ? /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text) : null;
  if (!m || !text) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text };
}

/** XBACKUP exists from Cyrus 3.0 through 3.10; 3.12 removed it together with backupd. */
export function hasXbackup(version: CyrusVersion): boolean {
  return version.major === 3 && version.minor < 12;
}
