import type { RedisClient as Redis } from '@follower-maze/shared';
import type { Keys } from '@follower-maze/shared';
import { partsOf, type Publication } from './core/publication.ts';
import { asFenced } from './fence.ts';
import { readLoggedBatch } from './logged-batch.ts';
import { luaScript } from './lua-script.ts';

const PUBLISH_LUA = luaScript('publish.lua');

export interface DeliveryPublisher {
  /** Publishes a committed batch: its deliveries, then its marker. */
  publish(publication: Publication): Promise<void>;
  /** A committed batch as the delivery log keeps it; undefined once trimmed (every gateway received it). */
  logged(batchSeq: number): Promise<Publication | undefined>;
}

type RedisWithPublish = Redis & { fmPublish(...args: (string | number)[]): Promise<number> };

/** Publishing on one Redis through lua/publish.lua, fenced by the lease and epoch the term loaded. */
export function definePublishScript(redis: Redis, keys: Keys, { token, epoch }: { token: string; epoch: number }): DeliveryPublisher {
  redis.defineCommand('fmPublish', { numberOfKeys: 2, lua: PUBLISH_LUA });
  const commander = redis as RedisWithPublish;
  const publishPart = (deliveries: string, marker: string) =>
    commander.fmPublish(keys.sequencerLease, keys.position, token, epoch, keys.userChannelPrefix, deliveries, keys.batchEnd, marker);
  return {
    async publish({ deliveries, marker }) {
      const parts = partsOf(deliveries);
      try {
        // Sent without waiting for each reply: Redis runs them in order, one script at a time, and a
        // part's users are in no other part. The marker waits for every part to be taken, so it never
        // overtakes a part that was refused: the batch is then published again from its first part.
        await Promise.all(parts.slice(0, -1).map((part) => publishPart(part, '')));
        await publishPart(parts.at(-1) ?? '', marker);
      } catch (error) {
        throw asFenced(error);
      }
    },
    logged: (batchSeq) => readLoggedBatch(redis, keys, batchSeq),
  };
}
