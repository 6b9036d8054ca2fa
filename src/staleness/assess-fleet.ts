import type { BackupdView } from '../backupd/scan.js';
import type { FleetDiscovery } from '../imap/fleet-discovery.js';
import { classifyUsers, type Classification, type ClassifyInput } from './classify.js';

/** The fleet as `report` and the scheduler's cycle both see it: every user's state, and why the view may be incomplete. */
export interface FleetAssessment {
  classification: Classification;
  /** Why the view is incomplete, when it is: no backups.db yet, IMAP servers that could not be asked. */
  notes: string[];
}

export function assessFleet(input: ClassifyInput): FleetAssessment {
  return { classification: classifyUsers(input), notes: readingNotes(input.backupd, input.discovery) };
}

function readingNotes(view: Pick<BackupdView, 'backupsDb' | 'backupsDbExists'>, discovery: FleetDiscovery | null): string[] {
  // Once each: with the comparison turned off, every server says so in the same words.
  return [...new Set([
    ...(view.backupsDbExists ? [] : [`${view.backupsDb} does not exist yet: nobody has been backed up to this server`]),
    ...(discovery?.servers.filter((s) => !s.ok).map((s) => `could not ask ${s.name} for its users: ${s.error}`) ?? []),
    ...(discovery?.servers.flatMap((s) => (s.ok && s.timeOnly ? [s.timeOnly] : [])) ?? []),
    ...(discovery?.servers.flatMap((s) =>
      s.ok && s.liveProblems.length > 0
        ? [`${s.name} did not describe every mailbox of some users, who are judged by the age of their backups alone: ${s.liveProblems.join('; ')}`]
        : [],
    ) ?? []),
  ])];
}
