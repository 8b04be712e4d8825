import { hashTagForSlot } from './cluster-slots.ts';

/**
 * Every Redis key and channel name in one place, derived from KEY_PREFIX.
 *
 * On one Redis the names are the prefix and a suffix (`fm:events`). On a Redis Cluster
 * every key is in the prefix's hash tag (`{fm}:events`), so that the keys the sequencer
 * changes in one script (position, stream, group, follow graph, delivery log, lease)
 * share one slot. User channels are the exception: they are sharded channels, named
 * without the tag (`fm:user:42`), so that they spread over the shards.
 */
export interface Keys {
  /** True on a Redis Cluster: sharded channels (SPUBLISH, SSUBSCRIBE) for users and batch ends. */
  readonly cluster: boolean;
  /** Stream of raw events; each entry holds many event lines. */
  readonly events: string;
  /** Consumer group of the sequencer on `events`. */
  readonly sequencerGroup: string;
  /** Hash: the sequencer's committed position (`nextSeq`, `trimId`, `batchSeq`, `epoch`). */
  readonly position: string;
  /** String: the token of the sequencer allowed to read and commit (a lease with a TTL). */
  readonly sequencerLease: string;
  /** Stream: every committed batch's deliveries, id = batch sequence number, kept while a gateway may still need them. */
  readonly deliveries: string;
  /**
   * Prefix of one epoch's follow graph: `followersPrefix(epoch) + userId` is the set of
   * users following userId. Named by epoch, so that an operator's reset starts an empty
   * graph in one step and the old sets can be deleted afterwards, a chunk at a time.
   */
  followersPrefix(epoch: number): string;
  /** Hash: gateway id -> last heartbeat (ms since epoch). */
  readonly gateways: string;
  /** Set of user ids connected to one gateway. */
  presence(gatewayId: string): string;
  /** String with a TTL: one gateway's load as of its last heartbeat (see gateway-load.ts), for `ops top`. */
  gatewayLoad(gatewayId: string): string;
  /** Channel on which gateways announce presence changes and progress. */
  readonly gatewayEvents: string;
  /** Channel on which the sequencer marks the end of each committed batch (one Redis). */
  readonly batchEnd: string;
  /**
   * On a Redis Cluster: the sharded channel of the batch-end markers that the master
   * serving `slot` carries (the sequencer publishes each marker on one such channel per
   * master, after that master's deliveries, so a gateway that has the marker from every
   * master has every delivery of the batch).
   */
  batchEndOnSlot(slot: number): string;
  /** Channel of one user's deliveries (a sharded channel on a Redis Cluster). */
  userChannel(userId: number): string;
  /** `userChannel(id)` is this followed by the id. */
  readonly userChannelPrefix: string;
  /** Capped list of rejected input, newest first, for operators. */
  readonly rejected: string;
  /** Prefix of BullMQ's keys (maintenance jobs). */
  readonly jobsPrefix: string;
  /** String with a short TTL: what one process is waiting for, as JSON, while it waits. */
  waits(processName: string): string;
  /**
   * Sorted set: process name -> Redis time (ms) of its latest `waits` report, so that
   * readers find the reports without a SCAN of the whole keyspace every second.
   */
  readonly waitingProcesses: string;
  /** Capped list of sequence ranges an operator (or the gap timeout) skipped, newest first. */
  readonly skipped: string;
}

/**
 * What KEY_PREFIX may be: 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter
 * or digit, or such a name inside one pair of braces (`{fm}`). The prefix ends up in SCAN
 * MATCH patterns (`<prefix>:waits:*`, `<prefix>:followers:<epoch>:*`, which decide what
 * `ops reset` deletes), so it holds no glob character (`*`, `?`, `[`, `]`, `\`), and no `:`:
 * a prefix with one could be another deployment's prefix followed by a key's own parts
 * (`fm:followers:0` holds keys that `fm`'s graph pattern matches). Without `:`, one
 * deployment's patterns never match another's keys. The braces are a Redis Cluster hash
 * tag: `{fm}:events` and every other key of the deployment hash to one slot.
 */
const KEY_PREFIX_GRAMMAR = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}|\{[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\})$/;

/** Returns the prefix if it follows the grammar above; otherwise throws, saying what it may be. */
export function checkKeyPrefix(prefix: string): string {
  if (KEY_PREFIX_GRAMMAR.test(prefix)) return prefix;
  throw new Error(
    "must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit, or such a name in braces " +
      "for a Redis Cluster hash tag ({fm}); no ':' and no glob character ('*', '?', '[', ']', '\\'), since it ends up in SCAN MATCH patterns",
  );
}

/**
 * The names for KEY_PREFIX. `cluster`: the deployment runs on a Redis Cluster
 * (REDIS_CLUSTER_NODES); a prefix given without braces is then put in a hash tag.
 */
export function keysFor(keyPrefix: string, cluster = false): Keys {
  const bare = keyPrefix.replace(/^\{(.*)\}$/, '$1');
  const prefix = cluster ? `{${bare}}` : keyPrefix;
  const channelPrefix = cluster ? bare : keyPrefix;
  return Object.freeze({
    cluster,
    events: `${prefix}:events`,
    sequencerGroup: 'sequencer',
    position: `${prefix}:position`,
    sequencerLease: `${prefix}:sequencer:lease`,
    deliveries: `${prefix}:deliveries`,
    followersPrefix: (epoch: number) => `${prefix}:followers:${epoch}:`,
    gateways: `${prefix}:gateways`,
    presence: (gatewayId: string) => `${prefix}:presence:${gatewayId}`,
    gatewayLoad: (gatewayId: string) => `${prefix}:gateway-load:${gatewayId}`,
    gatewayEvents: `${prefix}:gateway-events`,
    batchEnd: `${prefix}:batch-end`,
    batchEndOnSlot: (slot: number) => `${channelPrefix}:batch-end:{${hashTagForSlot(slot)}}`,
    userChannel: (userId: number) => `${channelPrefix}:user:${userId}`,
    userChannelPrefix: `${channelPrefix}:user:`,
    rejected: `${prefix}:rejected`,
    jobsPrefix: `${prefix}:jobs`,
    waits: (processName: string) => `${prefix}:waits:${processName}`,
    waitingProcesses: `${prefix}:waiting-processes`,
    skipped: `${prefix}:skipped`,
  });
}
