/** A user found on an IMAP server (its INBOX), with the size of its mail when the server could say. */
export interface DiscoveredUser {
  userid: string;
  server: string;
  sizeBytes: number | null;
}

/** What one discovery pass over the configured IMAP servers found; a server that could not be asked says why. */
export interface FleetDiscovery {
  finishedAt: number;
  servers: Array<{ name: string; ok: boolean; error: string | null; users: DiscoveredUser[] }>;
}
