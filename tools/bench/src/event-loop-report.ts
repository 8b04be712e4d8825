import { readFile } from 'node:fs/promises';
import type { PeakRss } from './rss-sampler.ts';

export interface EventLoopWorst {
  readonly name: string;
  /** The worst p99 of any counters interval (1 s in the bench). */
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * The worst event-loop delay of each service during the run, from the `eventLoopDelay`
 * its counters lines carry; processes are named by pid as the RSS sampler saw them.
 */
export async function readEventLoopDelays(logFile: string, processes: readonly PeakRss[], sinceMs: number): Promise<EventLoopWorst[]> {
  const worst = new Map<string, { p99Ms: number; maxMs: number }>();
  for (const text of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!text.includes('"eventLoopDelay"')) continue;
    const line = JSON.parse(text) as { time: number; pid: number; eventLoopDelay: { p99Ms: number; maxMs: number } };
    if (line.time < sinceMs) continue;
    const name = processes.find(({ pids }) => pids.includes(line.pid))?.name;
    if (!name) continue;
    const seen = worst.get(name) ?? { p99Ms: 0, maxMs: 0 };
    worst.set(name, { p99Ms: Math.max(seen.p99Ms, line.eventLoopDelay.p99Ms), maxMs: Math.max(seen.maxMs, line.eventLoopDelay.maxMs) });
  }
  return [...worst].map(([name, figures]) => ({ name, ...figures }));
}
