import { createServer, type Server, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import {
  Counters, decodeDelivery, encodeGatewayEvent, type GatewayConfig, type Keys, type Logger, type RejectionLog,
} from '@follower-maze/shared';
import { readUserId } from './client-handshake.ts';
import { ProgressReporter } from './progress-reporter.ts';
import { UserSessions, type UserSession } from './user-sessions.ts';

export type GatewayCounter =
  | 'clientsConnected' | 'clientsRejected' | 'probes' | 'slowClientsDropped' | 'deliveries' | 'repeatedDeliveries'
  | 'unreadableDeliveries' | 'bytesWritten';

/**
 * Holds user client sockets and writes them what the sequencer publishes on their
 * users' channels. One subscriber connection carries every channel of this process, so
 * Redis hands over deliveries in publish order, the order the sequencer committed them.
 */
export class Gateway {
  readonly counters = new Counters<GatewayCounter>();
  private readonly server: Server;
  private readonly sessions: UserSessions;
  private readonly progress: ProgressReporter;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly subscriber: Redis,
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly gatewayId: string,
    private readonly config: GatewayConfig,
    private readonly rejections: RejectionLog,
    private readonly logger: Logger,
  ) {
    this.sessions = new UserSessions(subscriber, redis, keys, gatewayId, logger);
    this.progress = new ProgressReporter(redis, keys, gatewayId, config.ackIntervalMs, config.heartbeatIntervalMs);
    this.server = createServer((socket) => void this.accept(socket));
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel, message));
  }

  async listen(host: string, port: number): Promise<number> {
    await this.progress.heartbeat();
    await this.subscriber.subscribe(this.keys.batchEnd);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  async close(): Promise<void> {
    this.progress.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await this.redis
      .multi()
      .hdel(this.keys.gateways, this.gatewayId)
      .del(this.keys.presence(this.gatewayId))
      .publish(this.keys.gatewayEvents, encodeGatewayEvent({ kind: 'gone', gatewayId: this.gatewayId }))
      .exec();
  }

  private async accept(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
    const handshake = await readUserId(socket, this.config.maxIdLineBytes, this.config.idLineTimeoutMs);
    if (!handshake.ok && 'probe' in handshake) {
      this.counters.add('probes');
      socket.destroy();
      return;
    }
    if (!handshake.ok) {
      this.counters.add('clientsRejected');
      this.rejections.record(`user client: ${handshake.reason}`, handshake.input);
      socket.destroy();
      return;
    }
    const { userId } = handshake;
    if (socket.destroyed) return;
    this.counters.add('clientsConnected');
    socket.on('close', () => this.sessions.remove(userId, socket));
    await this.sessions.add(userId, socket).catch((error: Error) => {
      this.logger.warn({ userId, err: error.message }, 'could not subscribe a user');
      socket.destroy();
    });
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    const name = channel.toString();
    if (name === this.keys.batchEnd) {
      this.progress.received(Number(message));
      return;
    }
    const session = this.sessions.byChannelName(name);
    if (!session) return;
    const delivery = decodeDelivery(message);
    if (!delivery) {
      this.counters.add('unreadableDeliveries');
      return;
    }
    if (delivery.batchSeq <= session.lastBatchSeq) {
      this.counters.add('repeatedDeliveries');
      return;
    }
    session.lastBatchSeq = delivery.batchSeq;
    this.counters.add('deliveries');
    this.write(session, delivery.body);
  }

  /** A client that cannot keep up is dropped rather than buffered without limit or allowed to slow the rest. */
  private write(session: UserSession, body: Buffer): void {
    for (const socket of session.sockets) {
      socket.write(body);
      this.counters.add('bytesWritten', body.length);
      if (socket.writableLength > this.config.maxClientBufferBytes) {
        this.counters.add('slowClientsDropped');
        this.logger.warn({ userId: session.userId, bufferedBytes: socket.writableLength }, 'slow client disconnected');
        socket.destroy();
      }
    }
  }
}
