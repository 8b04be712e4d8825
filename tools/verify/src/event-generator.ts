import { EventType, type Event } from './event.ts';
import { RandomStream, streamFor, type SeededRandom } from './seeded-random.ts';

/**
 * Type mix, in parts per 10,000 events. Calibrated so that a standard run
 * (100 connected clients, 1,000 users) produces roughly the notification volume
 * of the reference checker: ~1.6 M notifications for 1 M events, ~100 M for
 * 10 M events.
 *
 * Follows slightly outnumber unfollows, so the follow graph fills up over the
 * first few million events until it settles where unfollows balance the
 * follows that still add an edge (~23% of all possible pairs for 1,000 users).
 * Status updates dominate and fan out to the connected followers of their
 * sender, which is where almost all notifications come from. Broadcasts are
 * rare because each reaches every connected client.
 */
const TYPE_WEIGHTS: ReadonlyArray<readonly [EventType, number]> = [
  [EventType.Follow, 1500],
  [EventType.Unfollow, 1150],
  [EventType.PrivateMessage, 500],
  [EventType.Broadcast, 2],
  [EventType.StatusUpdate, 6848],
];
const TOTAL_WEIGHT = TYPE_WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);

/**
 * Most unfollows remove an existing follow so that they actually change the
 * graph; the rest name a random pair, which usually is no follow at all and
 * checks that the server treats such an unfollow as a no-op.
 */
const UNFOLLOW_EXISTING_PROBABILITY = 0.9;

export interface GeneratorOptions {
  randomSeed: number;
  totalEvents: number;
  numberOfUsers: number;
}

/**
 * The follows the generator has issued, kept so that unfollows can pick an
 * existing one uniformly: a dense array of edges with swap-removal, plus an
 * index from edge key to position.
 */
class FollowEdges {
  private readonly positionByKey = new Map<number, number>();
  private keys: number[] = [];

  constructor(private readonly numberOfUsers: number) {}

  get size(): number {
    return this.keys.length;
  }

  add(from: number, to: number): void {
    const key = this.keyOf(from, to);
    if (this.positionByKey.has(key)) return;
    this.positionByKey.set(key, this.keys.length);
    this.keys.push(key);
  }

  remove(from: number, to: number): void {
    const key = this.keyOf(from, to);
    const position = this.positionByKey.get(key);
    if (position === undefined) return;
    const lastKey = this.keys.pop()!;
    if (lastKey !== key) {
      this.keys[position] = lastKey;
      this.positionByKey.set(lastKey, position);
    }
    this.positionByKey.delete(key);
  }

  /** Returns the edge key at a position; decode with fromOf / toOf. */
  keyAt(position: number): number {
    return this.keys[position]!;
  }

  fromOf(key: number): number {
    return Math.floor(key / (this.numberOfUsers + 1));
  }

  toOf(key: number): number {
    return key % (this.numberOfUsers + 1);
  }

  private keyOf(from: number, to: number): number {
    return from * (this.numberOfUsers + 1) + to;
  }
}

/**
 * Deterministic source of events 1..totalEvents in sequence order. Pure: the
 * same options always yield the same events. Memory is bounded by the follow
 * graph (at most numberOfUsers² edges), never by the number of events.
 */
export class EventGenerator {
  private readonly random: SeededRandom;
  private readonly follows: FollowEdges;
  private nextSeq = 1;

  constructor(private readonly options: GeneratorOptions) {
    if (options.numberOfUsers < 2) throw new RangeError('numberOfUsers must be at least 2');
    this.random = streamFor(options.randomSeed, RandomStream.events);
    this.follows = new FollowEdges(options.numberOfUsers);
  }

  get eventsGenerated(): number {
    return this.nextSeq - 1;
  }

  /** Fills `into` with the next event; returns false once all events were produced. */
  next(into: Event): boolean {
    if (this.nextSeq > this.options.totalEvents) return false;
    into.seq = this.nextSeq++;
    into.type = this.pickType();
    into.from = 0;
    into.to = 0;
    switch (into.type) {
      case EventType.Follow:
        this.pickDistinctPair(into);
        this.follows.add(into.from, into.to);
        break;
      case EventType.Unfollow:
        this.pickUnfollow(into);
        this.follows.remove(into.from, into.to);
        break;
      case EventType.PrivateMessage:
        this.pickDistinctPair(into);
        break;
      case EventType.StatusUpdate:
        into.from = this.pickUser();
        break;
      case EventType.Broadcast:
        break;
    }
    return true;
  }

  private pickType(): EventType {
    let ticket = this.random.nextInt(TOTAL_WEIGHT);
    for (const [type, weight] of TYPE_WEIGHTS) {
      if (ticket < weight) return type;
      ticket -= weight;
    }
    throw new Error('unreachable: ticket beyond total weight');
  }

  private pickUser(): number {
    return 1 + this.random.nextInt(this.options.numberOfUsers);
  }

  private pickDistinctPair(into: Event): void {
    into.from = this.pickUser();
    // Shift by 1..numberOfUsers-1 so that `to` differs from `from` without a retry loop.
    const offset = 1 + this.random.nextInt(this.options.numberOfUsers - 1);
    into.to = ((into.from - 1 + offset) % this.options.numberOfUsers) + 1;
  }

  private pickUnfollow(into: Event): void {
    if (this.follows.size === 0 || this.random.nextFloat() >= UNFOLLOW_EXISTING_PROBABILITY) {
      this.pickDistinctPair(into);
      return;
    }
    const key = this.follows.keyAt(this.random.nextInt(this.follows.size));
    into.from = this.follows.fromOf(key);
    into.to = this.follows.toOf(key);
  }
}
