/**
 * Events are kept as plain numeric fields and the type as the ASCII code of its
 * letter, so that encoding a payload is a few byte writes and never allocates.
 */
export const EventType = {
  Follow: 0x46, // 'F'
  Unfollow: 0x55, // 'U'
  Broadcast: 0x42, // 'B'
  PrivateMessage: 0x50, // 'P'
  StatusUpdate: 0x53, // 'S'
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface Event {
  seq: number;
  type: EventType;
  /** 0 for a broadcast. */
  from: number;
  /** 0 for a broadcast or a status update. */
  to: number;
}

/** A blank event to be filled in place, e.g. by EventGenerator#next. */
export function newEvent(): Event {
  return { seq: 0, type: EventType.Broadcast, from: 0, to: 0 };
}

/** Longest payload: three 10-digit numbers, a type letter and three '|'. */
export const MAX_PAYLOAD_BYTES = 34;

const PIPE = 0x7c;
const DIGIT_ZERO = 0x30;

function hasFromUser(type: EventType): boolean {
  return type !== EventType.Broadcast;
}

function hasToUser(type: EventType): boolean {
  return type === EventType.Follow || type === EventType.Unfollow || type === EventType.PrivateMessage;
}

/**
 * Writes the decimal digits of an integer in [0, 2^32); returns the offset
 * after them. Truncating with `>>> 0` keeps the arithmetic in integers, which
 * matters here: this runs for every event sent and every notification checked.
 */
function writeDecimal(value: number, target: Uint8Array, offset: number): number {
  let end = offset + 1;
  for (let rest = value; rest >= 10; rest = (rest / 10) >>> 0) end++;
  let rest = value;
  for (let at = end - 1; at >= offset; at--) {
    const quotient = (rest / 10) >>> 0;
    target[at] = DIGIT_ZERO + rest - quotient * 10;
    rest = quotient;
  }
  return end;
}

/** Writes the payload (without line ending) as protocol.md spells it; returns the offset after it. */
export function encodePayload(
  seq: number,
  type: EventType,
  from: number,
  to: number,
  target: Uint8Array,
  offset: number,
): number {
  let at = writeDecimal(seq, target, offset);
  target[at++] = PIPE;
  target[at++] = type;
  if (hasFromUser(type)) {
    target[at++] = PIPE;
    at = writeDecimal(from, target, at);
  }
  if (hasToUser(type)) {
    target[at++] = PIPE;
    at = writeDecimal(to, target, at);
  }
  return at;
}

const formatScratch = new Uint8Array(MAX_PAYLOAD_BYTES);

/** The payload as a string; for messages and tests, not for the hot path. */
export function formatPayload(event: Event): string {
  const end = encodePayload(event.seq, event.type, event.from, event.to, formatScratch, 0);
  return Buffer.from(formatScratch.buffer, 0, end).toString('latin1');
}
