import type { Redis } from 'ioredis';
import { decodeLoggedBatch, decodeLoggedDeliveries, type Keys } from '@follower-maze/shared';
import { loggedDelivery, partsOf, type Publication } from './core/publication.ts';
import { asFenced } from './fence.ts';
import { luaScript } from './lua-script.ts';

const PUBLISH_LUA = luaScript('publish.lua');

export interface DeliveryPublisher {
  /** Publishes a committed batch: each part in turn, the marker with the last one. */
  publish(publication: Publication): Promise<void>;
  /** A committed batch as the delivery log keeps it; undefined once trimmed (every gateway received it). */
  logged(batchSeq: number): Promise<Publication | undefined>;
}

type RedisWithPublish = Redis & { fmPublish(...args: (string | number)[]): Promise<number> };

/** Publishing through lua/publish.lua, fenced by the lease and epoch the term loaded. */
export function definePublishScript(redis: Redis, keys: Keys, { token, epoch }: { token: string; epoch: number }): DeliveryPublisher {
  redis.defineCommand('fmPublish', { numberOfKeys: 2, lua: PUBLISH_LUA });
  const commander = redis as RedisWithPublish;
  const publishPart = (deliveries: string, marker: string) =>
    commander.fmPublish(keys.sequencerLease, keys.position, token, epoch, keys.userChannelPrefix, deliveries, keys.batchEnd, marker);
  return {
    async publish({ parts, marker }) {
      try {
        // One part at a time: a part refused midway must not let later ones, or the marker, overtake it.
        for (let index = 0; index < parts.length - 1; index++) await publishPart(parts[index]!, '');
        await publishPart(parts[parts.length - 1] ?? '', marker);
      } catch (error) {
        throw asFenced(error);
      }
    },
    async logged(batchSeq) {
      const id = `${batchSeq}-0`;
      const [entry] = await redis.xrangeBuffer(keys.deliveries, id, id);
      const logged = entry && decodeLoggedBatch(entry[1]);
      if (!logged) return undefined;
      const deliveries = Array.from(decodeLoggedDeliveries(logged.deliveries), ([userId, message]) => loggedDelivery(userId, message.toString('latin1')));
      return { parts: partsOf(deliveries), marker: logged.marker };
    },
  };
}
