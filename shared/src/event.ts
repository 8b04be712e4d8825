/** The event grammar of protocol.md, without I/O. */

export type EventType = 'F' | 'U' | 'B' | 'P' | 'S';

export interface MazeEvent {
  readonly seq: number;
  readonly type: EventType;
  /** 0 when the type has no from-user (broadcast). */
  readonly from: number;
  /** 0 when the type has no to-user (broadcast, status update). */
  readonly to: number;
  /** The line exactly as received, without its line ending. */
  readonly payload: string;
}

export type ParseResult = { readonly ok: true; readonly event: MazeEvent } | { readonly ok: false; readonly reason: string };

/** Fields each type carries after `seq|type`. */
const USER_FIELDS: Readonly<Record<EventType, number>> = { F: 2, U: 2, B: 0, P: 2, S: 1 };

/** Largest accepted id or sequence number: exact in a double, and beyond any real deployment. */
const MAX_NUMBER = Number.MAX_SAFE_INTEGER;

/** A positive decimal without sign or leading zeros, or -1. Used for user ids too. */
export function positiveInteger(field: string): number {
  if (field.length === 0 || field.length > 16 || field.charCodeAt(0) === 48 /* '0' */) return -1;
  for (let i = 0; i < field.length; i++) {
    const c = field.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  const value = Number(field);
  return value <= MAX_NUMBER ? value : -1;
}

const PIPE = 0x7c;
/** Value of the number read by the last successful `scanNumber`, so the hot path allocates nothing. */
let scanned = 0;

/** Reads a positive decimal (no sign, no leading zero) at `start`; returns the index after it, or -1. */
function scanNumber(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (!(first >= 49 && first <= 57)) return -1;
  let value = 0;
  let i = start;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  if (i - start > 16 || value > MAX_NUMBER) return -1;
  scanned = value;
  return i;
}

/** Parses one event line in a single pass (the sequencer's hottest function). */
export function parseEvent(payload: string): ParseResult {
  let i = scanNumber(payload, 0);
  if (i < 0 || payload.charCodeAt(i) !== PIPE) return { ok: false, reason: 'sequence number is not a positive integer' };
  const seq = scanned;
  const type = payload.charAt(i + 1) as EventType;
  const expected = USER_FIELDS[type];
  i += 2;
  if (expected === undefined || (i < payload.length && payload.charCodeAt(i) !== PIPE)) return { ok: false, reason: 'unknown event type' };
  const ids = [0, 0];
  for (let field = 0; field < expected; field++) {
    if (i >= payload.length) return { ok: false, reason: `type ${type} takes ${expected} user id(s)` };
    i = scanNumber(payload, i + 1);
    if (i < 0 || (i < payload.length && payload.charCodeAt(i) !== PIPE)) return { ok: false, reason: 'user id is not a positive integer' };
    ids[field] = scanned;
  }
  if (i !== payload.length) return { ok: false, reason: `type ${type} takes ${expected} user id(s)` };
  return { ok: true, event: { seq, type, from: ids[0]!, to: ids[1]!, payload } };
}

/** The sequence number that starts a payload which the ingest service already validated. */
export function sequenceOf(payload: string): number {
  return Number(payload.slice(0, payload.indexOf('|')));
}
