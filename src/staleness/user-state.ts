/**
 * The states of spec §2, in the order reports list them, and `damaged`: Cyrus's own deep verification
 * (`ctl_backups verify`) found the backup's data or index wrong.
 */
export const USER_STATES = ['fresh', 'stale', 'missing', 'failing', 'unreadable', 'orphan', 'conflict', 'damaged'] as const;
export type UserState = (typeof USER_STATES)[number];

export function isUserState(text: string): text is UserState {
  return (USER_STATES as readonly string[]).includes(text);
}
