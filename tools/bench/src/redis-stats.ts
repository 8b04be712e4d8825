import type { Redis } from 'ioredis';
import { masterNodes, nodeKeyOf, type RedisClient } from '@follower-maze/shared';
import { sequencerScriptsBySha } from './script-names.ts';

export interface CommandStat {
  /** As INFO names it, lower case; subcommands look like `client|setname`. */
  readonly command: string;
  readonly calls: number;
  /** Time Redis spent executing it, in microseconds. */
  readonly usec: number;
}

/** Commands that took longer than this are kept by Redis's slow log for the report. */
const SLOW_COMMAND_US = 1000;
const SLOW_LOG_LENGTH = 10_000;
/** What one script may keep Redis busy, at most: every other client waits meanwhile. */
export const SCRIPT_BUDGET_MS = 20;

/** The slowest commands Redis ran during the run (scripts are one command each). */
export interface SlowCommands {
  /** The slowest one's time and name (for a script, `evalsha` and the script's file, or `another script`: BullMQ's). */
  readonly worstMs: number;
  readonly worstCommand: string;
  /** How many took longer than SCRIPT_BUDGET_MS. */
  readonly overBudget: number;
}

/** One master's share of a cluster's work. */
export interface ShardStats {
  /** `host:port`. */
  readonly node: string;
  readonly totalCalls: number;
  /** SPUBLISH calls: the deliveries and batch-end markers this master carried. */
  readonly publishCalls: number;
  readonly usedMemoryBytes: number;
}

export interface RedisStats {
  /** Summed over a cluster's masters. */
  readonly usedMemoryBytes: number;
  readonly usedMemoryPeakBytes: number;
  readonly streamLength: number;
  /** Most called first. Commands run inside Lua scripts are counted too, as INFO counts them. */
  readonly commands: readonly CommandStat[];
  readonly totalCalls: number;
  readonly slowCommands: SlowCommands;
  /** Per master, on a cluster; empty on one Redis. */
  readonly shards: readonly ShardStats[];
}

/** Zeroes the command counters and the slow log (of every master), so that they cover the verification run alone. */
export async function resetRedisStats(client: RedisClient): Promise<void> {
  await Promise.all(masterNodes(client).map(async (redis) => {
    await redis.config('SET', 'slowlog-log-slower-than', String(SLOW_COMMAND_US), 'slowlog-max-len', String(SLOW_LOG_LENGTH));
    await redis.call('SLOWLOG', 'RESET');
    await redis.config('RESETSTAT');
  }));
}

export async function readRedisStats(client: RedisClient, streamKey: string): Promise<RedisStats> {
  const nodes = masterNodes(client);
  const shards = await Promise.all(nodes.map(readNodeStats));
  const commands = new Map<string, CommandStat>();
  for (const { commands: nodeCommands } of shards) {
    for (const stat of nodeCommands) {
      const sum = commands.get(stat.command);
      commands.set(stat.command, sum ? { command: stat.command, calls: sum.calls + stat.calls, usec: sum.usec + stat.usec } : stat);
    }
  }
  const worst = shards.reduce((slowest, { slowCommands }) => (slowCommands.worstMs > slowest.worstMs ? slowCommands : slowest), shards[0]!.slowCommands);
  const sorted = [...commands.values()].sort((a, b) => b.calls - a.calls);
  return {
    slowCommands: { ...worst, overBudget: shards.reduce((sum, { slowCommands }) => sum + slowCommands.overBudget, 0) },
    usedMemoryBytes: shards.reduce((sum, { usedMemoryBytes }) => sum + usedMemoryBytes, 0),
    usedMemoryPeakBytes: shards.reduce((sum, { usedMemoryPeakBytes }) => sum + usedMemoryPeakBytes, 0),
    streamLength: await client.xlen(streamKey),
    commands: sorted,
    totalCalls: sorted.reduce((sum, { calls }) => sum + calls, 0),
    shards: nodes.length === 1 ? [] : shards.map(({ node, commands: nodeCommands, usedMemoryBytes }) => ({
      node,
      totalCalls: nodeCommands.reduce((sum, { calls }) => sum + calls, 0),
      publishCalls: nodeCommands.find(({ command }) => command === 'spublish')?.calls ?? 0,
      usedMemoryBytes,
    })),
  };
}

/** One node's figures; command statistics first, so that the INFO and SLOWLOG after them are not in them. */
async function readNodeStats(redis: Redis) {
  const commands = parseCommandStats(await redis.info('commandstats'));
  const memory = parseInfoFields(await redis.info('memory'));
  const slowCommands = readSlowCommands((await redis.call('SLOWLOG', 'GET', SLOW_LOG_LENGTH)) as SlowLogEntry[]);
  return {
    node: nodeKeyOf(redis),
    commands,
    slowCommands,
    usedMemoryBytes: Number(memory.get('used_memory') ?? 0),
    usedMemoryPeakBytes: Number(memory.get('used_memory_peak') ?? 0),
  };
}

/** id, unix time, duration in µs, arguments, client address, client name. */
type SlowLogEntry = [number, number, number, string[], string, string];

function readSlowCommands(entries: readonly SlowLogEntry[]): SlowCommands {
  let worst: SlowLogEntry | undefined;
  let overBudget = 0;
  for (const entry of entries) {
    if (!worst || entry[2] > worst[2]) worst = entry;
    if (entry[2] > SCRIPT_BUDGET_MS * 1000) overBudget++;
  }
  return { worstMs: (worst?.[2] ?? 0) / 1000, worstCommand: worst ? commandName(worst[3]) : '-', overBudget };
}

function commandName([name = '-', sha = '']: readonly string[]): string {
  const command = name.toLowerCase();
  if (command !== 'evalsha') return command;
  return `${command} ${sequencerScriptsBySha().get(sha.toLowerCase()) ?? 'another script'}`;
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
