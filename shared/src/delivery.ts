import { sequenceOf } from './event.ts';

/**
 * The message the sequencer publishes on a user's channel (and keeps in the delivery
 * log): a header line with the sequence numbers of the user's first and last
 * notification in it, then those notifications, each ending in CRLF, ready to be
 * written to the user's sockets as they are. The header lets a gateway drop, without
 * reading the body, what it has already sent, and trim a partial overlap.
 */
const LF = 0x0a;
const SPACE = 0x20;

export function encodeDelivery(notifications: readonly string[]): string {
  const first = sequenceOf(notifications[0]!);
  const last = sequenceOf(notifications[notifications.length - 1]!);
  return `${first} ${last}\n${notifications.join('\r\n')}\r\n`;
}

export interface Delivery {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly body: Buffer;
}

export function decodeDelivery(message: Buffer): Delivery | undefined {
  const headerEnd = message.indexOf(LF);
  const space = message.indexOf(SPACE);
  if (headerEnd <= 0 || space <= 0 || space > headerEnd) return undefined;
  const firstSeq = Number(message.toString('latin1', 0, space));
  const lastSeq = Number(message.toString('latin1', space + 1, headerEnd));
  if (!Number.isSafeInteger(firstSeq) || !Number.isSafeInteger(lastSeq)) return undefined;
  return { firstSeq, lastSeq, body: message.subarray(headerEnd + 1) };
}

/**
 * The part of a delivery's body after the notifications numbered up to `sentSeq`:
 * the slow path, for the rare overlap after Redis lost recent writes and the sequencer
 * applied them again.
 */
export function bodyAfter(body: Buffer, sentSeq: number): Buffer {
  let start = 0;
  while (start < body.length) {
    let seq = 0;
    for (let i = start; i < body.length && body[i] !== 0x7c /* '|' */; i++) seq = seq * 10 + (body[i]! - 48);
    if (seq > sentSeq) return body.subarray(start);
    const end = body.indexOf(LF, start);
    if (end === -1) break;
    start = end + 1;
  }
  return body.subarray(body.length);
}

/** What the sequencer publishes on the batch-end channel: the batch before and this batch, or a reset of the sequence. */
export type BatchMarker = { readonly kind: 'end'; readonly previousSeq: number; readonly batchSeq: number } | { readonly kind: 'reset' };

export function encodeBatchEnd(previousSeq: number, batchSeq: number): string {
  return `${previousSeq} ${batchSeq}`;
}

export const BATCH_RESET = 'reset';

export function decodeBatchMarker(message: string): BatchMarker | undefined {
  if (message === BATCH_RESET) return { kind: 'reset' };
  const [previous, batch] = message.split(' ').map(Number);
  if (!Number.isSafeInteger(previous) || !Number.isSafeInteger(batch)) return undefined;
  return { kind: 'end', previousSeq: previous!, batchSeq: batch! };
}
