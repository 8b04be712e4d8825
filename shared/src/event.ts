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

export function parseEvent(payload: string): ParseResult {
  const fields = payload.split('|');
  const seq = positiveInteger(fields[0] ?? '');
  if (seq < 0) return { ok: false, reason: 'sequence number is not a positive integer' };
  const type = fields[1] as EventType;
  const expected = USER_FIELDS[type];
  if (expected === undefined) return { ok: false, reason: 'unknown event type' };
  if (fields.length !== 2 + expected) return { ok: false, reason: `type ${type} takes ${expected} user id(s)` };
  const from = expected >= 1 ? positiveInteger(fields[2]!) : 0;
  const to = expected === 2 ? positiveInteger(fields[3]!) : 0;
  if (from < 0 || to < 0) return { ok: false, reason: 'user id is not a positive integer' };
  return { ok: true, event: { seq, type, from, to, payload } };
}

/** The sequence number that starts a payload which the ingest service already validated. */
export function sequenceOf(payload: string): number {
  return Number(payload.slice(0, payload.indexOf('|')));
}
