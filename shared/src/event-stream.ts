import type { RedisClient as Redis } from './redis.ts';
import type { Keys } from './keys.ts';

/**
 * The layout of the raw event stream, shared by its writer (ingest) and its reader
 * (sequencer): each entry has one field holding many event lines joined by LF, the
 * payload bytes untouched, so one XADD carries a whole socket read.
 */
export const EVENT_LINES_FIELD = 'e';

export function joinEventLines(lines: readonly string[]): string {
  return lines.join('\n');
}

export function splitEventLines(field: string): string[] {
  return field.split('\n');
}

/** Both the writer and the reader create the consumer group, from the start of the stream, so no event is read past. */
export async function ensureSequencerGroup(redis: Redis, keys: Keys): Promise<void> {
  try {
    await redis.xgroup('CREATE', keys.events, keys.sequencerGroup, '0', 'MKSTREAM');
  } catch (error) {
    if (!(error as Error).message.includes('BUSYGROUP')) throw error;
  }
}

/** The fields XINFO GROUPS reports for one consumer group (`lag`, `last-delivered-id`, ...), or undefined. */
export function groupInfo(groupsReply: unknown, group: string): Map<string, unknown> | undefined {
  for (const info of (groupsReply ?? []) as unknown[][]) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
    if (fields.get('name') === group) return fields;
  }
  return undefined;
}

/** Orders two stream entry ids (`<ms>-<seq>`): negative when `a` comes first. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}
