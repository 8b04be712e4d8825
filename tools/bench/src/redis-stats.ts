import type { Redis } from 'ioredis';

export interface CommandStat {
  /** As INFO names it, lower case; subcommands look like `client|setname`. */
  readonly command: string;
  readonly calls: number;
  /** Time Redis spent executing it, in microseconds. */
  readonly usec: number;
}

export interface RedisStats {
  readonly usedMemoryBytes: number;
  readonly usedMemoryPeakBytes: number;
  readonly streamLength: number;
  /** Most called first. Commands run inside Lua scripts are counted too, as INFO counts them. */
  readonly commands: readonly CommandStat[];
  readonly totalCalls: number;
}

/** Zeroes the command counters, so that they cover the verification run alone. */
export async function resetRedisStats(redis: Redis): Promise<void> {
  await redis.config('RESETSTAT');
}

export async function readRedisStats(redis: Redis, streamKey: string): Promise<RedisStats> {
  // Command statistics first, so that the INFO and XLEN below are not in them.
  const commands = parseCommandStats(await redis.info('commandstats'));
  const memory = parseInfoFields(await redis.info('memory'));
  const streamLength = await redis.xlen(streamKey);
  return {
    usedMemoryBytes: Number(memory.get('used_memory') ?? 0),
    usedMemoryPeakBytes: Number(memory.get('used_memory_peak') ?? 0),
    streamLength,
    commands,
    totalCalls: commands.reduce((sum, { calls }) => sum + calls, 0),
  };
}

/** `key:value` lines of one INFO section. */
function parseInfoFields(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** `cmdstat_xadd:calls=12,usec=34,usec_per_call=2.83,rejected_calls=0,failed_calls=0` lines. */
function parseCommandStats(info: string): CommandStat[] {
  const stats: CommandStat[] = [];
  for (const [key, value] of parseInfoFields(info)) {
    if (!key.startsWith('cmdstat_')) continue;
    const numbers = new Map(value.split(',').map((pair) => pair.split('=') as [string, string]));
    stats.push({ command: key.slice('cmdstat_'.length), calls: Number(numbers.get('calls') ?? 0), usec: Number(numbers.get('usec') ?? 0) });
  }
  return stats.sort((a, b) => b.calls - a.calls);
}
