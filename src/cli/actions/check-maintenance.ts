// `check` of maintenance.command: that the configured prefix really runs Cyrus's ctl_backups on this
// server, as a user it works for, reading the backups.db the scheduler reads. It asks for the one verb
// the sudoers rule allows that writes nothing: a deep `verify` of the smallest of a sample of backups.
import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import { BackupsDbReader } from '../../backupd/backups-listing.js';
import type { BackupServerPaths } from '../../config/backup-server.js';
import type { Config } from '../../config/load.js';
import { cyrusToolCommand, outcomeText, runCyrusTool, type CyrusToolCommand } from '../../scheduler/maintenance/cyrus-tool.js';
import { sudoersRule, sudoRunAs } from '../../scheduler/maintenance/sudoers-rule.js';
import type { CheckLine } from '../output/check-lines.js';

/** Backups stat'ed to find a small one to verify: enough to find a small one, few enough to stay quick on 100,000 users. */
const SAMPLE = 200;

/** No backup on the server yet: a userid ctl_backups cannot find, which still makes it read its config and backups.db. */
const NO_SUCH_USER = 'xbackup-scheduler-check-no-such-user';

const WHAT = 'maintenance.command';

export async function checkMaintenanceCommand(config: Config, paths: BackupServerPaths, say: (l: CheckLine) => void): Promise<void> {
  const prefix = config.maintenance.command;
  if (prefix === undefined) return;
  const tool = cyrusToolCommand(config, paths.imapdConf);
  let target: { userid: string; dataFile: string } | undefined;
  try {
    const listing = await new BackupsDbReader(paths).listing();
    target = smallest(listing?.entries.slice(0, SAMPLE) ?? []);
  } catch {
    // backups.db has its own check line; the command is still worth trying.
  }
  const run = await runCyrusTool(tool, 'verify', [target?.userid ?? NO_SUCH_USER]);
  const shown = run.argv.join(' ');
  const outcome = run.outcomes[0]!;
  if (run.problem !== undefined || outcome.status === 'no-answer') {
    say({ verdict: 'FAIL', what: WHAT, detail: `${shown}: ${run.problem ?? `printed no outcome: ${run.stderr}`}${advice(prefix, config, paths, run.stderr)}` });
    return;
  }
  if (target === undefined) {
    say({ verdict: 'WARN', what: WHAT, detail: `${shown} ran ctl_backups, which read backupd's config and backups.db, but there is no backup yet to verify; run check again after the first backup` });
    return;
  }
  if (outcome.status === 'not-found' || (outcome.dataFile !== undefined && outcome.dataFile !== target.dataFile)) {
    say({
      verdict: 'FAIL',
      what: WHAT,
      detail: `${shown}: ctl_backups ${outcome.status === 'not-found' ? `finds no backup of ${target.userid}` : `names ${outcome.dataFile} as ${target.userid}'s backup`}, where the scheduler reads ${target.dataFile} from ${paths.backupsDb}: the prefix runs a ctl_backups that reads another backups.db`,
    });
    return;
  }
  if (outcome.status === 'failed') {
    say({ verdict: 'WARN', what: WHAT, detail: `${shown} works, and Cyrus found ${target.userid}'s backup damaged: ${outcome.detail ?? 'no reason given'}` });
    return;
  }
  say({ verdict: 'PASS', what: WHAT, detail: `${shown}: ctl_backups ran as the backups' owner and verified ${target.userid}'s backup (${outcome.status}), the data file the scheduler reads` });
  if (config.maintenance.compactBelowUtilisation !== undefined) await checkStat(tool, prefix, config, paths, target.userid, say);
}

/** compactBelowUtilisation needs `stat` through the same prefix: a sudoers rule written for compact and verify alone refuses it. */
async function checkStat(tool: CyrusToolCommand, prefix: readonly string[], config: Config, paths: BackupServerPaths, userid: string, say: (l: CheckLine) => void): Promise<void> {
  const run = await runCyrusTool(tool, 'stat', [userid]);
  const outcome = run.outcomes[0]!;
  const shown = run.argv.join(' ');
  const what = 'maintenance.compactBelowUtilisation';
  if (run.problem === undefined && outcome.status === 'ok') {
    say({ verdict: 'PASS', what, detail: `${shown}: ${userid}'s data file is ${outcome.utilisation!.toFixed(1)}% in use` });
  } else {
    const why = run.problem ?? `${outcomeText(outcome)}${run.stderr ? `: ${run.stderr}` : ''}`;
    say({ verdict: 'FAIL', what, detail: `${shown}: ${why}${advice(prefix, config, paths, run.stderr)}` });
  }
}

function smallest(entries: ReadonlyArray<{ userid: string; dataFile: string }>): { userid: string; dataFile: string } | undefined {
  let best: { userid: string; dataFile: string; size: number } | undefined;
  for (const e of entries) {
    let size: number;
    try {
      size = statSync(e.dataFile).size;
    } catch {
      continue;
    }
    if (best === undefined || size < best.size) best = { ...e, size };
  }
  return best;
}

/** What to change, when the prefix is sudo: the rule it needs, and the unit's drop-in when no new privileges are allowed. */
function advice(prefix: readonly string[], config: Config, paths: BackupServerPaths, stderr: string): string {
  if (prefix.length === 0 || basename(prefix[0]!) !== 'sudo') return '';
  if (/no new privileges/i.test(stderr)) {
    return '; the process runs with no new privileges (the unit\'s NoNewPrivileges=yes): install config/xbackup-scheduler-maintenance.conf as its drop-in (README "Permissions")';
  }
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = String(process.geteuid?.() ?? '<the scheduler\'s user>');
  }
  return `; sudo needs this line in /etc/sudoers.d/xbackup-scheduler (visudo -f): ${sudoersRule(user, sudoRunAs(prefix), config.backupd.ctlBackups, paths.imapdConf)}`;
}
