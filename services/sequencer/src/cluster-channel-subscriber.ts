import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { connectNode, type Logger, type RedisTarget } from '@follower-maze/shared';

/** Pause before another node is tried, after a subscriber connection ended. */
const NEXT_NODE_DELAY_MS = 100;

/**
 * Classic pub/sub on a Redis Cluster, which carries every classic channel to every node:
 * one subscriber connection to one master at a time, moved to the next master when it
 * ends (a dead master never comes back at its address). Like a single Redis connection,
 * it emits `close` when the connection drops and `ready` once subscribed again, so that
 * its listener knows when messages may have been missed; the cluster client's own
 * subscriber moves to another node without a word.
 */
export class ClusterChannelSubscriber extends EventEmitter {
  private readonly channels = new Set<string>();
  private connection: Redis | undefined;
  private subscribed = false;
  private attempt = 0;
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly target: RedisTarget,
    private readonly name: string,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** Resolves once subscribed to the channels, on whichever node. */
  async subscribe(...channels: string[]): Promise<void> {
    for (const channel of channels) this.channels.add(channel);
    if (this.subscribed && this.connection) {
      await this.connection.subscribe(...channels);
      return;
    }
    const ready = new Promise<void>((resolve) => this.once('ready', () => resolve()));
    if (!this.connection) this.connect();
    await ready;
  }

  disconnect(): void {
    this.closed = true;
    this.connection?.disconnect();
  }

  private connect(): void {
    const masters = this.cluster.nodes('master');
    const node = masters[this.attempt++ % Math.max(1, masters.length)];
    if (!node) {
      this.connectLater();
      return;
    }
    // Not reconnected where it was: the next master is tried instead.
    const connection = connectNode(this.target, { host: node.options.host!, port: node.options.port! }, this.name, this.logger, {
      retryStrategy: () => null,
    });
    this.connection = connection;
    connection.on('message', (channel: string, message: string) => this.emit('message', channel, message));
    connection.once('end', () => {
      this.connection = undefined;
      if (this.subscribed) {
        this.subscribed = false;
        this.emit('close');
      }
      this.connectLater();
    });
    connection.subscribe(...this.channels).then(
      () => {
        this.subscribed = true;
        this.emit('ready');
      },
      () => connection.disconnect(),
    );
  }

  private connectLater(): void {
    if (!this.closed) setTimeout(() => this.connect(), NEXT_NODE_DELAY_MS);
  }
}
