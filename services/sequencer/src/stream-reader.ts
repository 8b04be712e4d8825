import type { Redis } from 'ioredis';
import { ensureSequencerGroup, splitEventLines, type Keys } from '@follower-maze/shared';

export interface StreamEntry {
  readonly id: string;
  /** Event lines of the entry; empty when the entry was deleted while pending. */
  readonly lines: readonly string[];
}

type XReadGroupReply = [stream: string, entries: [id: string, fields: string[] | null][]][] | null;

/** The one consumer name: only the sequencer that holds the position reads, so pending entries are always its own. */
const CONSUMER = 'sequencer';

/**
 * Reads the event stream through the sequencer's consumer group: first the entries
 * that were delivered before a crash but never acknowledged (replay), then new ones.
 * Owns its connection so that `close()` can interrupt a blocking read.
 */
export class StreamReader {
  /** Where the replay of pending entries has got to; undefined once it is done. */
  private pendingCursor: string | undefined = '0';

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly count: number,
  ) {}

  async ensureGroup(): Promise<void> {
    await ensureSequencerGroup(this.redis, this.keys);
  }

  get replaying(): boolean {
    return this.pendingCursor !== undefined;
  }

  async read(blockMs: number): Promise<StreamEntry[]> {
    const { events, sequencerGroup } = this.keys;
    if (this.pendingCursor !== undefined) {
      const reply = (await this.redis.xreadgroup(
        'GROUP', sequencerGroup, CONSUMER, 'COUNT', this.count, 'STREAMS', events, this.pendingCursor,
      )) as XReadGroupReply;
      const entries = toEntries(reply);
      this.pendingCursor = entries.length > 0 ? entries[entries.length - 1]!.id : undefined;
      if (entries.length > 0) return entries;
    }
    const reply = (await this.redis.xreadgroup(
      'GROUP', sequencerGroup, CONSUMER, 'COUNT', this.count, 'BLOCK', blockMs, 'STREAMS', events, '>',
    )) as XReadGroupReply;
    return toEntries(reply);
  }

  close(): void {
    this.redis.disconnect();
  }
}

function toEntries(reply: XReadGroupReply): StreamEntry[] {
  const entries = reply?.[0]?.[1] ?? [];
  return entries.map(([id, fields]) => ({ id, lines: fields?.[1] === undefined ? [] : splitEventLines(fields[1]) }));
}
