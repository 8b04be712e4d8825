import type { RedisClient as Redis } from '@follower-maze/shared';
import { decodeBatchMarker, decodeLoggedBatch, decodeLoggedDeliveries, type BatchMarker, type Keys } from '@follower-maze/shared';

/** Batches read per XRANGE while catching up. */
const PAGE_BATCHES = 50;

export interface LoggedBatch {
  readonly marker: BatchMarker;
  /** [userId, delivery message as published], in the order they were published. */
  readonly deliveries: Iterable<[number, Buffer]>;
}

/**
 * Reads the sequencer's delivery log: what was published per committed batch, kept
 * until every live gateway has received it. A gateway reads it after its subscriber
 * connection dropped, since pub/sub does not keep what was published meanwhile.
 */
export async function* readDeliveryLog(redis: Redis, keys: Keys, afterBatch: number): AsyncGenerator<LoggedBatch> {
  let start = `(${afterBatch}-0`;
  for (;;) {
    const page = await redis.xrangeBuffer(keys.deliveries, start, '+', 'COUNT', PAGE_BATCHES);
    for (const [, fields] of page) {
      const logged = decodeLoggedBatch(fields);
      const marker = logged && decodeBatchMarker(logged.marker);
      if (marker) yield { marker, deliveries: decodeLoggedDeliveries(logged.deliveries) };
    }
    if (page.length < PAGE_BATCHES) return;
    start = `(${page[page.length - 1]![0].toString()}`;
  }
}
