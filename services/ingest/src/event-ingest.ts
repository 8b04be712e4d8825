import { createServer, type Server, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import {
  Counters, listenOn, LineSplitter, parseEvent, type IngestConfig, type Keys, type Logger, type RejectionLog, type WaitReport,
} from '@follower-maze/shared';
import { StreamAppender } from './stream-appender.ts';

export type IngestCounter = 'sourcesConnected' | 'eventsAccepted' | 'eventsRejected' | 'pauses' | 'appendErrors';

/**
 * The TCP server for the event source: splits its byte stream into lines, validates
 * each against the event grammar, and hands accepted lines, untouched, to the stream
 * appender. Reading stops while the appender reports back-pressure.
 */
export class EventIngest {
  readonly counters = new Counters<IngestCounter>();
  private readonly server: Server;
  private readonly sources = new Set<Socket>();
  private readonly appender: StreamAppender;
  private paused = false;

  constructor(
    redis: Redis,
    keys: Keys,
    private readonly config: IngestConfig,
    private readonly rejections: RejectionLog,
    private readonly logger: Logger,
    waits: WaitReport,
  ) {
    // A refusal is said by the wait report while it lasts (not once per retry); here it is counted.
    this.appender = new StreamAppender(redis, keys, config, (paused) => this.setPaused(paused), () => this.counters.add('appendErrors'), waits);
    this.server = createServer((socket) => this.accept(socket));
  }

  get eventsAppended(): number {
    return this.appender.eventsAppended;
  }

  async listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port);
  }

  /**
   * Stops accepting and appends everything accepted. Connected sources are cut: one that
   * is paused or never stops sending would otherwise hold the close forever; what they
   * sent after their last complete line is theirs to resend.
   */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sources) socket.destroy();
    await closed;
    await this.appender.drain();
    this.appender.close();
  }

  private accept(socket: Socket): void {
    this.sources.add(socket);
    this.counters.add('sourcesConnected');
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.logger.info({ remote }, 'event source connected');
    if (this.paused) socket.pause();
    const splitter = new LineSplitter(this.config.maxLineBytes, {
      line: (text) => this.acceptLine(text),
      oversized: (bytes) => this.reject(`line longer than ${this.config.maxLineBytes} bytes`, `${bytes} bytes`),
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('end', () => {
      const unterminated = splitter.end();
      if (unterminated !== undefined) this.reject('unterminated last line', unterminated);
      this.appender.flush();
    });
    socket.on('error', (error) => this.logger.warn({ remote, err: error.message }, 'event source connection error'));
    socket.on('close', () => {
      this.sources.delete(socket);
      this.logger.info({ remote, eventsAppended: this.appender.eventsAppended }, 'event source disconnected');
    });
  }

  private acceptLine(line: string): void {
    if (line.length === 0) return;
    const parsed = parseEvent(line);
    if (!parsed.ok) {
      this.reject(parsed.reason, line);
      return;
    }
    this.counters.add('eventsAccepted');
    this.appender.add(line);
  }

  private reject(reason: string, input: string): void {
    this.counters.add('eventsRejected');
    this.rejections.record(`event source: ${reason}`, input);
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) this.counters.add('pauses');
    for (const socket of this.sources) {
      if (paused) socket.pause();
      else socket.resume();
    }
  }
}
