import type { RedisClient as Redis } from '@follower-maze/shared';
import { decodeLoggedBatch, decodeLoggedDeliveries, type Keys } from '@follower-maze/shared';
import { loggedDelivery, type Publication } from './core/publication.ts';

/** A committed batch as the delivery log keeps it; undefined once trimmed (every gateway received it). */
export async function readLoggedBatch(redis: Redis, keys: Keys, batchSeq: number): Promise<Publication | undefined> {
  const id = `${batchSeq}-0`;
  const [entry] = await redis.xrangeBuffer(keys.deliveries, id, id);
  const logged = entry && decodeLoggedBatch(entry[1]);
  if (!logged) return undefined;
  const deliveries = Array.from(decodeLoggedDeliveries(logged.deliveries), ([userId, message]) => loggedDelivery(userId, message.toString('latin1')));
  return { deliveries, marker: logged.marker };
}
