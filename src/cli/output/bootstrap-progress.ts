import { SingleBar } from 'cli-progress';
import type { BackupResult } from '../../scheduler/backup-result.js';
import type { FirstBackupGroup } from '../../scheduler/plan/plan-types.js';
import { formatBytes } from '../../units/size.js';

/**
 * The bootstrap's progress bar on a terminal (stderr): users done of all that were missing, bytes
 * when the servers gave sizes, the current group, and cli-progress's ETA.
 */
export class BootstrapProgress {
  private readonly bar = new SingleBar({
    format: 'bootstrap [{bar}] {value}/{total} users | {bytes} | group {group} | ETA {eta_formatted}',
    stream: process.stderr,
    hideCursor: true,
    etaBuffer: 20,
  });
  private started = false;
  private groups = 0;
  private bytesDone = 0;
  private bytesTotal: number | null = null;
  private sizes = new Map<string, number>();

  group(group: FirstBackupGroup, missing: number, missingBytes: number | null): void {
    this.groups++;
    for (const u of group.users) if (u.sizeBytes !== null) this.sizes.set(u.userid, u.sizeBytes);
    if (!this.started) {
      this.bytesTotal = missingBytes;
      this.bar.start(missing, 0, this.payload());
      this.started = true;
    }
    this.bar.update(this.payload());
  }

  result(r: BackupResult): void {
    if (r.outcome === 'ok') this.bytesDone += this.sizes.get(r.userid) ?? 0;
    this.bar.increment(1, this.payload());
    if (r.outcome !== 'ok') this.bar.update(this.payload());
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }

  private payload(): Record<string, string | number> {
    const bytes = this.bytesTotal === null ? 'sizes unknown' : `${formatBytes(this.bytesDone)}/${formatBytes(this.bytesTotal)}`;
    return { bytes, group: this.groups };
  }
}
