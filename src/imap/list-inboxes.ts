import type { AdminSession } from './admin-session.js';
import { execCommand, type UntaggedResponse } from './imapflow-exec.js';
import { mailboxOwner } from './mailbox-names.js';

const nameOf = (u: UntaggedResponse): string | undefined => {
  const a = u.attributes[2];
  return typeof a === 'object' && a !== null && typeof (a as { value?: unknown }).value === 'string' ? (a as { value: string }).value : undefined;
};

/**
 * The users whose INBOX an XBACKUP of `pattern` would back up now: `LIST "" <pattern>` as the admin,
 * which matches names as XBACKUP does, kept to user INBOXes. Asked right before a wildcard goes out, so
 * that a user created since the last discovery is never swept into it.
 */
export async function listInboxes(session: AdminSession, pattern: string): Promise<Set<string>> {
  const inboxes = new Set<string>();
  const tagged = await execCommand(session.client, 'LIST', [{ type: 'STRING', value: '' }, { type: 'STRING', value: pattern }], {
    LIST: (u: UntaggedResponse) => {
      const name = nameOf(u);
      const owner = name === undefined ? null : mailboxOwner(name, session.naming);
      if (owner?.isInbox) inboxes.add(owner.userid);
    },
  });
  if (tagged.status !== 'OK') throw new Error(`${session.server.name}: LIST "" ${JSON.stringify(pattern)} answered ${tagged.status} ${tagged.text}`);
  return inboxes;
}
