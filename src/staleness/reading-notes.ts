import type { BackupdView } from '../backupd/scan.js';
import type { FleetDiscovery } from '../imap/fleet-discovery.js';

/** Why a report's view of the fleet is incomplete: no backups.db yet, IMAP servers that could not be asked. */
export function readingNotes(view: Pick<BackupdView, 'backupsDb' | 'backupsDbExists'>, discovery: FleetDiscovery | null): string[] {
  return [
    ...(view.backupsDbExists ? [] : [`${view.backupsDb} does not exist yet: nobody has been backed up to this server`]),
    ...(discovery?.servers.filter((s) => !s.ok).map((s) => `could not ask ${s.name} for its users: ${s.error}`) ?? []),
  ];
}
