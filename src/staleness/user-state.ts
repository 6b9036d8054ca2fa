/** The states of spec §2, in the order reports list them. */
export const USER_STATES = ['fresh', 'stale', 'missing', 'failing', 'unreadable', 'orphan', 'conflict'] as const;
export type UserState = (typeof USER_STATES)[number];

export function isUserState(text: string): text is UserState {
  return (USER_STATES as readonly string[]).includes(text);
}
