import type { AdminSession } from './admin-session.js';
import { attributeValue, commandText, execCommand, type ExecAttribute, type UntaggedResponse } from './imapflow-exec.js';
import { mailboxOwner } from './mailbox-names.js';
import { ResponseBudget } from './response-budget.js';

/**
 * The users whose INBOX an XBACKUP of `pattern` would back up now: `LIST "" <pattern>` as the admin,
 * which matches names as XBACKUP does, kept to user INBOXes. Asked right before a wildcard goes out, so
 * that a user created since the last discovery is never swept into it. A wildcard lists its users' folders
 * too, so the LIST is timed like discovery's (see discover-users.ts).
 */
export async function listInboxes(session: AdminSession, pattern: string): Promise<Set<string>> {
  const { server } = session;
  const attributes: ExecAttribute[] = [{ type: 'STRING', value: '' }, { type: 'STRING', value: pattern }];
  const budget = new ResponseBudget(server.name, commandText('LIST', attributes), 'users');
  const inboxes = new Set<string>();
  const tagged = await execCommand(
    session.client,
    'LIST',
    attributes,
    {
      LIST: (u: UntaggedResponse) => {
        const name = attributeValue(u.attributes[2]);
        const owner = name === undefined ? null : mailboxOwner(name, session.naming);
        if (!owner?.isInbox || inboxes.has(owner.userid)) return;
        budget.keep(owner.userid);
        inboxes.add(owner.userid);
      },
    },
    { server: server.name, timeoutMs: server.commandTimeout, timeoutSetting: 'servers[].commandTimeout', silenceMs: server.stepTimeout, budget },
  );
  if (tagged.status !== 'OK') throw new Error(`${server.name}: LIST "" ${JSON.stringify(pattern)} answered ${tagged.status} ${tagged.text}`);
  return inboxes;
}
