import type { Redis } from 'ioredis';
import { connectionCheck, type HealthCheck, type Keys } from '@follower-maze/shared';
import { chunksOf } from './chunks.ts';

/** What a delivery feed tells the gateway. */
export interface FeedListener {
  /** A delivery on a user channel, or a marker on a batch-end channel; `batchEnd` is the batch-end channel of the connection it came on. */
  message(channel: string, message: Buffer, batchEnd: string): void;
  /** A connection dropped (or lost channels): what was published meanwhile is missing until caught up. */
  dropped(): void;
  /** Every connection is back after a drop; its channels are not subscribed again until `resubscribe`. */
  ready(): void;
}

/**
 * Where a gateway receives deliveries and batch-end markers: the user channels of its
 * users and every batch-end channel. Channels are not subscribed again by the connections
 * themselves after a drop: the gateway does it (`resubscribe`), a chunk per command, before
 * it reads back from the delivery log what it missed.
 */
export interface DeliveryFeed {
  /** The batch-end channels, one per connection. */
  readonly batchEndChannels: readonly string[];
  listen(listener: FeedListener): void;
  /** Subscribes the batch-end channels. */
  start(): Promise<void>;
  /** At most ITEMS_PER_COMMAND channels. */
  subscribe(channels: readonly string[]): Promise<void>;
  /** At most ITEMS_PER_COMMAND channels. */
  unsubscribe(channels: readonly string[]): Promise<void>;
  /** Every batch-end channel and `channels` (any number) again, after a drop. */
  resubscribe(channels: readonly string[]): Promise<void>;
  /** For /readyz: deliveries arrive only while every connection is up; while one is away they are held, and read back from the delivery log after. */
  healthCheck(name: string): HealthCheck;
  close(): void;
}

/**
 * One Redis: one subscriber connection carries every channel of the process, so Redis
 * hands over deliveries and markers in publish order, the order the sequencer committed them.
 */
export class SingleRedisFeed implements DeliveryFeed {
  readonly batchEndChannels: readonly string[];
  /** A drop before the first connection is not one: nothing was subscribed yet. */
  private connectedOnce = false;

  constructor(private readonly subscriber: Redis, private readonly keys: Keys) {
    this.batchEndChannels = [keys.batchEnd];
  }

  listen(listener: FeedListener): void {
    const batchEnd = this.keys.batchEnd;
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => listener.message(channel.toString(), message, batchEnd));
    this.subscriber.on('close', () => {
      if (this.connectedOnce) listener.dropped();
    });
    this.subscriber.on('ready', () => {
      if (this.connectedOnce) listener.ready();
      this.connectedOnce = true;
    });
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.keys.batchEnd);
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    await this.subscriber.subscribe(...channels);
  }

  async unsubscribe(channels: readonly string[]): Promise<void> {
    await this.subscriber.unsubscribe(...channels);
  }

  /** A chunk per command, all issued at once: a user who leaves meanwhile is unsubscribed after them. */
  async resubscribe(channels: readonly string[]): Promise<void> {
    await Promise.all([
      this.subscriber.subscribe(this.keys.batchEnd),
      ...Array.from(chunksOf(channels), (chunk) => this.subscriber.subscribe(...chunk)),
    ]);
  }

  healthCheck(name: string): HealthCheck {
    return connectionCheck(name, this.subscriber);
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
