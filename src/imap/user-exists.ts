import type { AdminSession } from './admin-session.js';
import { execCommand } from './imapflow-exec.js';
import { useridToMailbox } from './mailbox-names.js';

/** Whether the server has this user's INBOX, asked with one exact LIST. */
export async function userExists(session: AdminSession, userid: string): Promise<boolean> {
  let found = false;
  const tagged = await execCommand(
    session.client,
    'LIST',
    [
      { type: 'STRING', value: '' },
      { type: 'STRING', value: useridToMailbox(userid, session.naming) },
    ],
    { LIST: () => (found = true) },
    { server: session.server.name, timeoutMs: session.server.stepTimeout, timeoutSetting: 'servers[].stepTimeout' },
  );
  if (tagged.status !== 'OK') throw new Error(`${session.server.name}: LIST answered ${tagged.status} ${tagged.text}`);
  return found;
}
