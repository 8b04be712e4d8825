/**
 * Every Redis key and channel name in one place, derived from KEY_PREFIX.
 * Keys are plain (no hash tags) because one Redis holds them all; see the README
 * for what changes under Redis Cluster.
 */
export interface Keys {
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
  /** Channel on which the sequencer marks the end of each committed batch. */
  readonly batchEnd: string;
  /** Channel of one user's deliveries. */
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

export function keysFor(prefix: string): Keys {
  return Object.freeze({
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
    userChannel: (userId: number) => `${prefix}:user:${userId}`,
    userChannelPrefix: `${prefix}:user:`,
    rejected: `${prefix}:rejected`,
    jobsPrefix: `${prefix}:jobs`,
    waits: (processName: string) => `${prefix}:waits:${processName}`,
    waitingProcesses: `${prefix}:waiting-processes`,
    skipped: `${prefix}:skipped`,
  });
}
