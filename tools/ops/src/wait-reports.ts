import type { Redis } from 'ioredis';
import type { Keys, ReportedWait } from '@follower-maze/shared';

/** One wait as a process reported it, with the process's name (`sequencer-host-42`). */
export interface ProcessWait extends ReportedWait {
  readonly process: string;
}

/** Every process's current waits, by process name. */
export async function readWaitReports(redis: Redis, keys: Keys): Promise<ProcessWait[]> {
  const waitKeys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.waitsPattern, 'COUNT', 1000);
    cursor = next;
    waitKeys.push(...found);
  } while (cursor !== '0');
  if (waitKeys.length === 0) return [];
  waitKeys.sort();
  const reports = await redis.mget(waitKeys);
  const processPrefix = keys.waits('');
  return waitKeys.flatMap((key, index) => {
    const report = reports[index];
    if (!report) return [];
    const process = key.slice(processPrefix.length);
    return (JSON.parse(report) as ReportedWait[]).map((wait) => ({ process, ...wait }));
  });
}
