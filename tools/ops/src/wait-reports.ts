import type { Keys, RedisClient, ReportedWait } from '@follower-maze/shared';

/** One wait as a process reported it, with the process's name (`sequencer-host-42`). */
export interface ProcessWait extends ReportedWait {
  readonly process: string;
}

/** Every process's current waits, by process name; a process listed whose report has expired waits for nothing. */
export async function readWaitReports(redis: RedisClient, keys: Keys): Promise<ProcessWait[]> {
  const processes = (await redis.zrange(keys.waitingProcesses, '0', '-1')).sort();
  if (processes.length === 0) return [];
  const reports = await redis.mget(processes.map((process) => keys.waits(process)));
  return processes.flatMap((process, index) => {
    const report = reports[index];
    return report ? (JSON.parse(report) as ReportedWait[]).map((wait) => ({ process, ...wait })) : [];
  });
}
