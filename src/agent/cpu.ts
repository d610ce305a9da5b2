/**
 * Host CPU utilisation from /proc/stat, sampled as the busy share of all cores
 * since the previous sample (what ZooRoute's frequency control watches).
 */
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  busy: number;
  total: number;
}

export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no aggregate cpu line');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // exclude guest (counted in user)
  return { busy: total - idle, total };
}

export class CpuSampler {
  private last: CpuTimes;

  constructor(private readonly read: () => string = () => readFileSync('/proc/stat', 'utf8')) {
    this.last = parseProcStat(this.read());
  }

  /** Percent busy (0..100) since the previous call. */
  sample(): number {
    const now = parseProcStat(this.read());
    const dt = now.total - this.last.total;
    const pct = dt > 0 ? ((now.busy - this.last.busy) / dt) * 100 : 0;
    this.last = now;
    return Math.max(0, Math.min(100, pct));
  }
}
