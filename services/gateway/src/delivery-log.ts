import type { Redis } from 'ioredis';
import type { Keys } from '@follower-maze/shared';

/** Batches read per XRANGE while catching up. */
const PAGE_BATCHES = 50;

export interface LoggedBatch {
  readonly batchSeq: number;
  readonly previousSeq: number;
  /** userId -> delivery message, as published. */
  readonly deliveries: ReadonlyMap<number, Buffer>;
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
    for (const [id, fields] of page) {
      const deliveries = new Map<number, Buffer>();
      let previousSeq = 0;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const name = fields[i]!.toString();
        if (name === 'prev') previousSeq = Number(fields[i + 1]!.toString());
        else deliveries.set(Number(name), fields[i + 1]!);
      }
      yield { batchSeq: Number(id.toString().split('-')[0]), previousSeq, deliveries };
    }
    if (page.length < PAGE_BATCHES) return;
    start = `(${page[page.length - 1]![0].toString()}`;
  }
}
