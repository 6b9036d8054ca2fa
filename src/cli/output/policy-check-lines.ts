// `check`'s judgement of the policy and of what each server lets the tool compare: whether users can be
// kept under maxAge, and whether their backups can be compared with their mailboxes at all.
import { cronPeriod } from '../../config/cron-period.js';
import type { Config } from '../../config/load.js';
import { LIVE_STATE_CAPABILITIES, missingLiveStateCapabilities } from '../../imap/live-mailboxes.js';
import { formatAge } from '../../units/duration.js';
import type { CheckLine } from './check-lines.js';

export function schedulePolicyLines(policy: Config['policy']): CheckLine[] {
  const period = cronPeriod(policy.schedule);
  const { maxAge, discoverEvery } = policy;
  const lines: CheckLine[] = [];
  if (period >= maxAge) {
    lines.push({
      verdict: 'WARN',
      what: 'policy.schedule',
      detail: `"${policy.schedule}" runs up to ${formatAge(period)} apart, not less than policy.maxAge ${formatAge(maxAge)}: every user is due at every cycle and backups still reach ${formatAge(maxAge + period)}; run cycles more often or raise maxAge`,
    });
  } else {
    lines.push({
      verdict: 'PASS',
      what: 'policy.schedule',
      detail: `"${policy.schedule}" runs up to ${formatAge(period)} apart: users are backed up from ${formatAge(maxAge - period)} of age, less what a cycle takes, so none reaches maxAge ${formatAge(maxAge)}`,
    });
  }
  if (policy.compareLive && discoverEvery >= maxAge - period) {
    lines.push({
      verdict: 'WARN',
      what: 'policy.discoverEvery',
      detail: `mailboxes are read every ${formatAge(discoverEvery)}, not within maxAge ${formatAge(maxAge)} less the schedule's ${formatAge(period)}: a reading is always too old to spare a backup, so unchanged users are backed up anyway; set discoverEvery well below that`,
    });
  }
  return lines;
}

/** Whether a server lets its users' backups be compared with their mailboxes (LIST-STATUS and CONDSTORE). */
export function comparisonLine(server: string, capabilities: ReadonlySet<string>): CheckLine {
  const lacking = missingLiveStateCapabilities(capabilities);
  if (lacking.length === 0) {
    return { verdict: 'PASS', what: `${server} comparison`, detail: `announces ${LIVE_STATE_CAPABILITIES.join(' and ')}: backups are compared with the live mailboxes at each discovery` };
  }
  return {
    verdict: 'WARN',
    what: `${server} comparison`,
    detail: `does not announce ${lacking.join(' and ')}: its users are judged by the age of their backups alone, every report says so, and unchanged users are backed up every maxAge anyway`,
  };
}
