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

/**
 * Where a delivery or batch belongs: the epoch (bumped by an operator's reset, which
 * restarts sequence numbers) and, for batches, the term (bumped whenever a sequencer
 * starts leading, since batch boundaries may then differ from what was published before).
 */
export function encodeDelivery(epoch: number, notifications: readonly string[]): string {
  const first = sequenceOf(notifications[0]!);
  const last = sequenceOf(notifications[notifications.length - 1]!);
  return `${epoch} ${first} ${last}\n${notifications.join('\r\n')}\r\n`;
}

export interface Delivery {
  readonly epoch: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly body: Buffer;
}

export function decodeDelivery(message: Buffer): Delivery | undefined {
  const headerEnd = message.indexOf(LF);
  if (headerEnd <= 0) return undefined;
  const [epoch, firstSeq, lastSeq] = numbersIn(message.toString('latin1', 0, headerEnd));
  if (epoch === undefined || firstSeq === undefined || lastSeq === undefined) return undefined;
  return { epoch, firstSeq, lastSeq, body: message.subarray(headerEnd + 1) };
}

/**
 * The part of a delivery's body after the notifications numbered up to `sentSeq`:
 * the slow path, for the overlap when a new term replays what an earlier one had
 * published (Redis lost its last writes).
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

/** How many notifications a delivery's body holds: each one ends in CRLF. */
export function notificationsIn(body: Buffer): number {
  let count = 0;
  for (let at = body.indexOf(LF); at !== -1; at = body.indexOf(LF, at + 1)) count++;
  return count;
}

/** The end of a committed batch, as published on the batch-end channel and kept in the delivery log. */
export interface BatchMarker {
  readonly epoch: number;
  readonly term: number;
  readonly previousSeq: number;
  readonly batchSeq: number;
}

export function encodeBatchMarker({ epoch, term, previousSeq, batchSeq }: BatchMarker): string {
  return `${epoch} ${term} ${previousSeq} ${batchSeq}`;
}

export function decodeBatchMarker(text: string): BatchMarker | undefined {
  const [epoch, term, previousSeq, batchSeq] = numbersIn(text);
  if (epoch === undefined || term === undefined || previousSeq === undefined || batchSeq === undefined) return undefined;
  return { epoch, term, previousSeq, batchSeq };
}

/** A batch's entry in the delivery log, from its stream fields; undefined without a marker. */
export function decodeLoggedBatch(fields: readonly Buffer[]): { marker: string; deliveries: Buffer } | undefined {
  let marker: string | undefined;
  let deliveries: Buffer = Buffer.alloc(0);
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const name = fields[index]!.toString();
    if (name === 'marker') marker = fields[index + 1]!.toString();
    else if (name === 'd') deliveries = fields[index + 1]!;
  }
  return marker === undefined ? undefined : { marker, deliveries };
}

/**
 * A batch's entry in the delivery log holds its marker and one blob of deliveries,
 * each `<userId> <byteLength>\n<message>` (built inside the commit script, so any
 * number of recipients fits in one entry).
 */
export function* decodeLoggedDeliveries(blob: Buffer): Generator<[userId: number, message: Buffer]> {
  let at = 0;
  while (at < blob.length) {
    const space = blob.indexOf(SPACE, at);
    const headerEnd = blob.indexOf(LF, at);
    if (space === -1 || headerEnd === -1) return;
    const userId = Number(blob.toString('latin1', at, space));
    const length = Number(blob.toString('latin1', space + 1, headerEnd));
    yield [userId, blob.subarray(headerEnd + 1, headerEnd + 1 + length)];
    at = headerEnd + 1 + length;
  }
}

function numbersIn(text: string): (number | undefined)[] {
  return text.split(' ').map((field) => {
    const value = Number(field);
    return field.length > 0 && Number.isSafeInteger(value) ? value : undefined;
  });
}
