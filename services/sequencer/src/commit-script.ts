import type { RedisClient as Redis } from '@follower-maze/shared';
import { encodeBatchMarker, encodeDelivery, type Keys } from '@follower-maze/shared';
import type { Batch } from './core/batch.ts';
import { loggedDelivery, partsOf, type Publication } from './core/publication.ts';
import { asFenced } from './fence.ts';
import { luaScript } from './lua-script.ts';

const COMMIT_LUA = luaScript('commit.lua');

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
  /** True when the commit script published it too (a batch of one part); otherwise it is published in parts. */
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
  redis.defineCommand('fmCommit', { numberOfKeys: 4, lua: COMMIT_LUA });
  const commander = redis as RedisWithCommit;
  return {
    async commit({ batch, startNextSeq, nextSeq, previousBatchSeq, ackIds, trimId, deliveryLogMinSeq }) {
      const batchSeq = nextSeq - 1;
      const marker = encodeBatchMarker({ epoch, term, previousSeq: previousBatchSeq, batchSeq });
      const { parts, bytesByUser } = packDeliveries(batch, epoch);
      const [followsAdded, followsRemoved] = packFollowChanges(batch);
      // One part costs no more to publish than the commit itself: both in one step, as one call.
      const published = parts.length <= 1;
      try {
        await commander.fmCommit(
          keys.position, keys.events, keys.sequencerLease, keys.deliveries,
          token, epoch, startNextSeq, nextSeq, batch.events, keys.sequencerGroup, trimId, deliveryLogMinSeq,
          `${batchSeq}-0`, marker, keys.followersPrefix(epoch),
          ackIds.join(' '), followsAdded, followsRemoved, parts.join(''),
          published ? '1' : '', keys.userChannelPrefix, keys.batchEnd,
        );
      } catch (error) {
        throw asFenced(error);
      }
      return { publication: { parts, marker }, published, bytesByUser };
    },
  };
}

/** Every recipient's delivery, in parts to publish; the delivery log keeps them joined. */
function packDeliveries(batch: Batch, epoch: number): { parts: string[]; bytesByUser: Map<number, number> } {
  const deliveries: string[] = [];
  const bytesByUser = new Map<number, number>();
  for (const [userId, notifications] of batch.notifications) {
    const message = encodeDelivery(epoch, notifications);
    bytesByUser.set(userId, message.length);
    deliveries.push(loggedDelivery(userId, message));
  }
  return { parts: partsOf(deliveries), bytesByUser };
}

/** Net follows added and removed, one line per followed user: `<to> <from> <from> ...`. */
function packFollowChanges(batch: Batch): [added: string, removed: string] {
  const added: string[] = [];
  const removed: string[] = [];
  for (const [to, changes] of batch.edgeChanges) {
    let adds = '';
    let removes = '';
    for (const [from, follows] of changes) {
      if (follows) adds += ` ${from}`;
      else removes += ` ${from}`;
    }
    if (adds) added.push(`${to}${adds}`);
    if (removes) removed.push(`${to}${removes}`);
  }
  return [added.join('\n'), removed.join('\n')];
}
