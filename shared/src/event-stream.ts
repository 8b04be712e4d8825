import type { Redis } from 'ioredis';
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
