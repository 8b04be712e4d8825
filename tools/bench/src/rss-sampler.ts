import { readFile } from 'node:fs/promises';

/** Often enough to catch short peaks, rare enough to cost nothing next to the run. */
const SAMPLE_INTERVAL_MS = 200;
const KIB_BYTES = 1024;

export interface SampledProcess {
  readonly name: string;
  /** Read on every sample, so a restarted process is followed to its new pid. */
  pid(): number | undefined;
}

export interface PeakRss {
  readonly name: string;
  readonly peakBytes: number;
  /** Every pid seen; more than one means the process was restarted during the run. */
  readonly pids: readonly number[];
}

/** Samples VmRSS of a few processes from /proc and keeps the maximum of each. */
export class RssSampler {
  private readonly peaks = new Map<string, { peakBytes: number; pids: Set<number> }>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();

  constructor(private readonly processes: readonly SampledProcess[]) {
    for (const process of processes) this.peaks.set(process.name, { peakBytes: 0, pids: new Set() });
  }

  start(): void {
    // A timeout chain rather than setInterval: a slow /proc read never overlaps the next one.
    const loop = (): void => {
      this.sampling = this.sample().then(() => {
        if (this.timer !== undefined) this.timer = setTimeout(loop, SAMPLE_INTERVAL_MS);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** Takes a last sample and returns the peaks, in the order the processes were given. */
  async stop(): Promise<PeakRss[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sampling;
    await this.sample();
    return this.processes.map(({ name }) => {
      const peak = this.peaks.get(name)!;
      return { name, peakBytes: peak.peakBytes, pids: [...peak.pids] };
    });
  }

  private async sample(): Promise<void> {
    await Promise.all(
      this.processes.map(async (process) => {
        const pid = process.pid();
        if (pid === undefined) return;
        const rssBytes = await readRssBytes(pid);
        if (rssBytes === undefined) return;
        const peak = this.peaks.get(process.name)!;
        peak.pids.add(pid);
        peak.peakBytes = Math.max(peak.peakBytes, rssBytes);
      }),
    );
  }
}

/** VmRSS of a live process, or undefined if it has exited in the meantime. */
async function readRssBytes(pid: number): Promise<number | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * KIB_BYTES : undefined;
}
