/**
 * Deliveries published by one script call at most. A PUBLISH inside a script costs
 * about 1 µs here (40,000 took 42 ms on an idle machine), so a part keeps Redis busy for
 * a few milliseconds: a broadcast to every online user never holds it for long.
 */
export const PUBLISHES_PER_PART = 2000;
/**
 * Bytes of deliveries one script call publishes at most (a single larger delivery is a
 * part of its own): above what a commit carries at its default limit (1 MiB of
 * notifications, plus headers), so that such a batch is one part, published by the
 * commit itself.
 */
export const BYTES_PER_PART = 2 * 1024 * 1024;

/**
 * What a committed batch publishes: each recipient's delivery, then its batch-end marker.
 * On one Redis a batch that makes one part is published by its commit script, a larger
 * one in parts (partsOf), one script call each; on a Redis Cluster every master gets the
 * deliveries whose channels it serves, in parts, then the marker.
 */
export interface Publication {
  /** Each recipient's delivery, `<userId> <byteLength>\n<message>` (the delivery log's layout), in order. */
  readonly deliveries: readonly string[];
  readonly marker: string;
}

/**
 * One delivery in the delivery log's layout (payloads are ASCII by the event grammar,
 * so a message's length is its byte length).
 */
export function loggedDelivery(userId: number, message: string): string {
  return `${userId} ${message.length}\n${message}`;
}

/** The deliveries in order, grouped into parts of at most `maxDeliveries` deliveries and about `maxBytes` bytes. */
export function partsOf(
  deliveries: Iterable<string>, maxDeliveries = PUBLISHES_PER_PART, maxBytes = BYTES_PER_PART,
): string[] {
  const parts: string[] = [];
  let part: string[] = [];
  let bytes = 0;
  for (const delivery of deliveries) {
    if (part.length > 0 && (part.length === maxDeliveries || bytes + delivery.length > maxBytes)) {
      parts.push(part.join(''));
      part = [];
      bytes = 0;
    }
    part.push(delivery);
    bytes += delivery.length;
  }
  if (part.length > 0) parts.push(part.join(''));
  return parts;
}

/** Whether partsOf makes at most one part of `count` deliveries of `bytes` bytes together (without cutting them). */
export function fitsOnePart(count: number, bytes: number): boolean {
  return count <= 1 || (count <= PUBLISHES_PER_PART && bytes <= BYTES_PER_PART);
}
