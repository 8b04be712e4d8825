import type { RedisClient as Redis } from '@follower-maze/shared';
import { ensureSequencerGroup, groupInfo, splitEventLines, type Keys } from '@follower-maze/shared';
import { asFenced } from './fence.ts';
import { luaScript } from './lua-script.ts';

export interface StreamEntry {
  readonly id: string;
  /** Event lines of the entry; empty when the entry was deleted while pending. */
  readonly lines: readonly string[];
  /** Read again from the pending list: delivered before a crash, takeover or replay request. */
  readonly replayed: boolean;
}

type XReadReply = [stream: string, entries: [id: string, fields: string[] | null][]][] | null;

/** The one consumer name: only the lease holder reads, so pending entries are always its own. */
const CONSUMER = 'sequencer';

const FENCED_READ_LUA = luaScript('fenced-read.lua');

type RedisWithRead = Redis & { fmFencedRead(...args: (string | number)[]): Promise<XReadReply> };

/**
 * Reads the event stream through the sequencer's consumer group: first the entries that
 * were delivered before a crash or takeover but never acknowledged (replay), then new
 * ones. Waits for new entries with a plain blocking XREAD, which moves nothing, on its own
 * connection, so that `close()` can interrupt it.
 *
 * `close()` also settles a read that is waiting in the connection's offline queue:
 * ioredis's disconnect() between two reconnection attempts settles nothing, and a read
 * that never settles would hold the sequencer's loop, its close, and so the lease, for ever.
 */
export class StreamReader {
  /** Where the replay of pending entries has got to; undefined once it is done. */
  private pendingCursor: string | undefined = '0';
  /** The newest entry known to have been handed to the group. */
  private lastDeliveredId = '0-0';
  private readonly redis: RedisWithRead;
  /** Settles the read in progress, if any (the loop reads one at a time). */
  private abandonRead: ((reason: Error) => void) | undefined;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly count: number,
    private readonly token: string,
    private readonly epoch: string,
  ) {
    redis.defineCommand('fmFencedRead', { numberOfKeys: 3, lua: FENCED_READ_LUA });
    this.redis = redis as RedisWithRead;
  }

  async start(): Promise<void> {
    await ensureSequencerGroup(this.redis, this.keys);
    const group = groupInfo(await this.redis.xinfo('GROUPS', this.keys.events), this.keys.sequencerGroup);
    this.lastDeliveredId = String(group?.get('last-delivered-id') ?? '0-0');
  }

  /** Rewinds to the oldest pending entry, for an operator's replay. */
  replayPending(): void {
    this.pendingCursor = '0';
  }

  read(blockMs: number): Promise<StreamEntry[]> {
    // Not a race against one long-lived "closed" promise: each race would leave a reaction
    // on it, and a read per batch would pile them up for the life of the term.
    return new Promise((resolve, reject) => {
      this.abandonRead = reject;
      // When close() settled the read first, the later failure ("Connection is closed") lands here, unheard.
      this.readOnce(blockMs).then(resolve, reject).finally(() => {
        if (this.abandonRead === reject) this.abandonRead = undefined;
      });
    });
  }

  private async readOnce(blockMs: number): Promise<StreamEntry[]> {
    if (this.pendingCursor !== undefined) {
      const entries = await this.fencedRead(this.pendingCursor, true);
      this.pendingCursor = entries.length > 0 ? entries[entries.length - 1]!.id : undefined;
      if (entries.length > 0) return entries;
    }
    const entries = await this.fencedRead('>');
    if (entries.length > 0) {
      this.lastDeliveredId = entries[entries.length - 1]!.id;
      return entries;
    }
    const newer = (await this.redis.xread('COUNT', 1, 'BLOCK', blockMs, 'STREAMS', this.keys.events, this.lastDeliveredId)) as XReadReply;
    const newest = toEntries(newer).at(-1);
    if (!newest) return [];
    const arrived = await this.fencedRead('>');
    // Nothing for the group although the stream has newer entries: the group already handed
    // them out (they are pending, and the replay covers them), so wait past them.
    this.lastDeliveredId = arrived.at(-1)?.id ?? newest.id;
    return arrived;
  }

  close(): void {
    this.abandonRead?.(new Error('stream reader closed'));
    this.redis.disconnect();
  }

  private async fencedRead(id: string, replayed = false): Promise<StreamEntry[]> {
    const { events, sequencerLease, position, sequencerGroup } = this.keys;
    try {
      const reply = await this.redis.fmFencedRead(sequencerLease, position, events, this.token, this.epoch, sequencerGroup, CONSUMER, this.count, id);
      return toEntries(reply, replayed);
    } catch (error) {
      throw asFenced(error);
    }
  }
}

function toEntries(reply: XReadReply, replayed = false): StreamEntry[] {
  const entries = reply?.[0]?.[1] ?? [];
  return entries.map(([id, fields]) => ({ id, lines: fields?.[1] === undefined ? [] : splitEventLines(fields[1]), replayed }));
}
