import type { RedisClient as Redis } from '@follower-maze/shared';
import { encodeBatchMarker, encodeDelivery, type Keys } from '@follower-maze/shared';
import type { Batch } from './core/batch.ts';
import { fitsOnePart, loggedDelivery, type Publication } from './core/publication.ts';
import { asFenced } from './fence.ts';
import { luaScript } from './lua-script.ts';

const COMMIT_LUA = luaScript('commit.lua');
/** KEYS[1..4] of lua/commit.lua: position, events stream, lease, delivery log; the follow sets follow. */
const FIXED_KEYS = 4;

export interface CommitRequest {
  readonly batch: Batch;
  /** The committed position before this batch. */
  readonly startNextSeq: number;
  readonly nextSeq: number;
  /** The last committed batch before this one; gateways use it to see that they missed nothing. */
  readonly previousBatchSeq: number;
  /** Stream entries whose every event is now applied. */
  readonly ackIds: readonly string[];
  /** Entries below this id are acknowledged and may be trimmed. */
  readonly trimId: string;
  /** Delivery log entries below this batch are no longer needed by any gateway. */
  readonly deliveryLogMinSeq: number;
}

/** A committed batch: what it publishes, and how many bytes that makes for each user. */
export interface CommittedBatch {
  readonly publication: Publication;
  /** True when the commit script published it too (a batch of one part, on one Redis); otherwise it is published after. */
  readonly published: boolean;
  readonly bytesByUser: ReadonlyMap<number, number>;
}

export interface CommitScript {
  commit(request: CommitRequest): Promise<CommittedBatch>;
}

type RedisWithCommit = Redis & { fmCommit(...args: (string | number)[]): Promise<number> };

export interface CommitIdentity {
  readonly token: string;
  readonly epoch: number;
  readonly term: number;
}

/** The batch's commit as one script call (see lua/commit.lua for what it does and why). */
export function defineCommitScript(redis: Redis, keys: Keys, { token, epoch, term }: CommitIdentity): CommitScript {
  // The number of keys comes first in each call: the follow sets the batch changes are keys too.
  redis.defineCommand('fmCommit', { lua: COMMIT_LUA });
  const commander = redis as RedisWithCommit;
  const followers = keys.followersPrefix(epoch);
  return {
    async commit({ batch, startNextSeq, nextSeq, previousBatchSeq, ackIds, trimId, deliveryLogMinSeq }) {
      const batchSeq = nextSeq - 1;
      const marker = encodeBatchMarker({ epoch, term, previousSeq: previousBatchSeq, batchSeq });
      const { deliveries, packed, bytesByUser } = packDeliveries(batch, epoch);
      const { followSets, added, removed } = packFollowChanges(batch, followers, FIXED_KEYS);
      // One part costs no more to publish than the commit itself: both in one step, as one call. Not on a
      // cluster, whose users' channels are on other masters than the commit's keys.
      const published = !keys.cluster && fitsOnePart(deliveries.length, packed.length);
      try {
        await commander.fmCommit(
          FIXED_KEYS + followSets.length, keys.position, keys.events, keys.sequencerLease, keys.deliveries, ...followSets,
          token, epoch, startNextSeq, nextSeq, batch.events, keys.sequencerGroup, trimId, deliveryLogMinSeq,
          `${batchSeq}-0`, marker, ackIds.join(' '), added, removed, packed,
          published ? '1' : '', keys.userChannelPrefix, keys.batchEnd,
        );
      } catch (error) {
        throw asFenced(error);
      }
      return { publication: { deliveries, marker }, published, bytesByUser };
    },
  };
}

/** Every recipient's delivery, and all of them joined, as the delivery log keeps them. */
function packDeliveries(batch: Batch, epoch: number): { deliveries: string[]; packed: string; bytesByUser: Map<number, number> } {
  const deliveries: string[] = [];
  const bytesByUser = new Map<number, number>();
  for (const [userId, notifications] of batch.notifications) {
    const message = encodeDelivery(epoch, notifications);
    bytesByUser.set(userId, message.length);
    deliveries.push(loggedDelivery(userId, message));
  }
  return { deliveries, packed: deliveries.join(''), bytesByUser };
}

/**
 * The follow sets the batch changes (its keys, after the first `fixedKeys`), and the net
 * follows added and removed, one line per set: `<index in KEYS> <from> <from> ...`.
 */
function packFollowChanges(batch: Batch, followers: string, fixedKeys: number): { followSets: string[]; added: string; removed: string } {
  const followSets: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [to, changes] of batch.edgeChanges) {
    followSets.push(`${followers}${to}`);
    const index = fixedKeys + followSets.length;
    let adds = '';
    let removes = '';
    for (const [from, follows] of changes) {
      if (follows) adds += ` ${from}`;
      else removes += ` ${from}`;
    }
    if (adds) added.push(`${index}${adds}`);
    if (removes) removed.push(`${index}${removes}`);
  }
  return { followSets, added: added.join('\n'), removed: removed.join('\n') };
}
