import { Cluster } from 'ioredis';
import {
  decodeGatewayLoad, EVENT_LINES_FIELD, groupInfo, masterNodes, nodeKeyOf, sequenceOf, splitEventLines,
  type Keys, type RedisClient, type ReportedGatewayLoad,
} from '@follower-maze/shared';
import { readWaitReports, type ProcessWait } from './wait-reports.ts';

/** One gateway in the gateways hash, with the load its last heartbeat left (gone a few heartbeats after it fell silent). */
export interface GatewaySample {
  readonly id: string;
  /** Redis time (ms) of its last heartbeat. */
  readonly heartbeatAtMs: number;
  readonly load: ReportedGatewayLoad | undefined;
}

/** What `ops top` shows, read from Redis at one moment; counts, not rates (rates need two samples). */
export interface TopSample {
  /** Redis's clock (ms) when sampled: every age and rate is measured on it, never on this machine's clock. */
  readonly atMs: number;
  /** The committed position; the services' defaults when no sequencer has committed yet. */
  readonly position: { readonly nextSeq: number; readonly batchSeq: number; readonly epoch: number; readonly term: number };
  /** The active sequencer (`host-pid`) and how long its lease has left, or undefined while none holds it. */
  readonly lease: { readonly holder: string; readonly ttlMs: number } | undefined;
  readonly stream: {
    readonly entries: number;
    /** Entries the sequencer's group has not read; undefined when Redis cannot tell (its `lag` is null). */
    readonly unreadEntries: number | undefined;
    /** Entries read but not acknowledged (not yet applied and committed). */
    readonly pendingEntries: number;
    /** The highest sequence number in the newest entry; undefined for an empty stream. */
    readonly newestSeq: number | undefined;
  };
  readonly waits: readonly ProcessWait[];
  /** Sorted by id. */
  readonly gateways: readonly GatewaySample[];
  /** One Redis's, or every master's of a cluster. */
  readonly redisMemory: readonly RedisMemory[];
}

export interface RedisMemory {
  /** `host:port` of a cluster's master; undefined for one Redis. */
  readonly node?: string;
  readonly usedBytes: number;
  readonly peakBytes: number;
  readonly maxBytes: number;
}

/**
 * Reads one sample: the fixed keys in one round trip, then the gateways' loads and the
 * waits. Cheap enough to run every second against a busy Redis: the largest reply is the
 * stream's newest entry (at most one entry's events).
 */
export async function readTopSample(redis: RedisClient, keys: Keys): Promise<TopSample> {
  const masters = masterNodes(redis);
  // Sent together, so they cost one round trip (on a cluster, one per master).
  const [time, position, leaseToken, leaseTtlMs, entries, groups, newest, gateways, memory] = await Promise.all([
    redis.time(),
    redis.hgetall(keys.position),
    redis.get(keys.sequencerLease),
    redis.pttl(keys.sequencerLease),
    redis.xlen(keys.events),
    redis.xinfo('GROUPS', keys.events).catch(noStreamYet),
    redis.xrevrange(keys.events, '+', '-', 'COUNT', 1),
    redis.hgetall(keys.gateways),
    Promise.all(masters.map((master) => master.info('memory'))),
  ]);
  const group = groupInfo(groups, keys.sequencerGroup);
  const lag = group?.get('lag');
  const gatewayIds = Object.keys(gateways).sort();
  const [loads, waits] = await Promise.all([
    gatewayIds.length > 0 ? redis.mget(gatewayIds.map((id) => keys.gatewayLoad(id))) : [],
    readWaitReports(redis, keys),
  ]);
  return {
    atMs: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000),
    position: {
      nextSeq: Number(position['nextSeq'] ?? 1),
      batchSeq: Number(position['batchSeq'] ?? 0),
      epoch: Number(position['epoch'] ?? 0),
      term: Number(position['term'] ?? 0),
    },
    lease: leaseToken === null ? undefined : { holder: holderOf(leaseToken), ttlMs: Math.max(0, leaseTtlMs) },
    stream: {
      entries,
      unreadEntries: group === undefined ? entries : typeof lag === 'number' ? lag : undefined,
      pendingEntries: Number(group?.get('pending') ?? 0),
      newestSeq: highestSeqIn(newest[0]?.[1]),
    },
    waits,
    gateways: gatewayIds.map((id, index) => ({
      id,
      heartbeatAtMs: Number(gateways[id]),
      load: decodeGatewayLoad(loads[index] ?? ''),
    })),
    redisMemory: memory.map((info, index) => ({
      ...(redis instanceof Cluster && { node: nodeKeyOf(masters[index]!) }),
      usedBytes: infoField(info, 'used_memory'),
      peakBytes: infoField(info, 'used_memory_peak'),
      maxBytes: infoField(info, 'maxmemory'),
    })),
  };
}

/** A stream that does not exist yet has no group: nothing read, nothing pending. */
function noStreamYet(error: Error): undefined {
  if (!/no such key/i.test(error.message)) throw error;
  return undefined;
}

/** A lease token is `<host>-<pid>-<random>` (leader-lease.ts): the process is what people want to see. */
function holderOf(token: string): string {
  const last = token.lastIndexOf('-');
  return last > 0 ? token.slice(0, last) : token;
}

/** Events of one entry arrive shuffled a little: the highest of them, not the last, is how far the source has got. */
function highestSeqIn(fields: string[] | undefined): number | undefined {
  const at = fields?.indexOf(EVENT_LINES_FIELD) ?? -1;
  const lines = at === -1 ? undefined : fields?.[at + 1];
  if (lines === undefined) return undefined;
  let highest = 0;
  for (const line of splitEventLines(lines)) highest = Math.max(highest, sequenceOf(line) || 0);
  return highest;
}

function infoField(info: string, name: string): number {
  const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}
