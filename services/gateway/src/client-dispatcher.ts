import type { Worker } from 'node:cluster';
import { createServer, type Server, type Socket } from 'node:net';
import { listenOn, ThrottledWarning, type Logger } from '@follower-maze/shared';
import { isHandoffMessage, type HandoffMessage } from './client-handoff.ts';

/**
 * Connections handed to one worker and not yet confirmed. Kept small so that a busy
 * worker is not given a queue the others could have served, and so that a worker that
 * dies takes few connections with it (their clients connect again).
 */
export const HANDOFFS_IN_FLIGHT_PER_WORKER = 4;

/**
 * In the gateway's primary: holds the client port and hands each new connection to a
 * ready worker with room in its hand-off window, in turn; connections no worker can take
 * yet wait, paused, in arrival order. Node's own round-robin hand-off keeps the primary's
 * copy of a connection until the worker answers, so a connection handed to a worker that
 * dies first stays open, unserved, for ever. Here the primary closes its copy once the
 * worker has taken the socket, or when that worker exits: a client whose connection went
 * to a dying worker sees it end and connects again.
 */
export class ClientDispatcher {
  private readonly server: Server;
  private readonly ready: Worker[] = [];
  private turn = 0;
  private nextId = 0;
  /** Accepted, not yet handed to a worker, oldest first. Bounded by the descriptors the process may open. */
  private readonly waiting: Socket[] = [];
  /** Per worker id: the sockets handed to it that it has not confirmed yet, by hand-off id. */
  private readonly untaken = new Map<number, Map<number, Socket>>();
  private listening: Promise<number> | undefined;
  private readonly acceptFailed: ThrottledWarning;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly logger: Logger,
  ) {
    // Paused: the worker that takes the socket reads the id line, not the primary.
    this.server = createServer({ pauseOnConnect: true }, (socket) => {
      socket.on('error', () => undefined);
      this.waiting.push(socket);
      this.dispatch();
    });
    this.acceptFailed = new ThrottledWarning(logger, 'could not accept a client');
  }

  /** Follows a worker's messages and its exit; it gets clients once it says it is ready. */
  add(worker: Worker): void {
    this.untaken.set(worker.id, new Map());
    worker.on('message', (message: unknown) => {
      if (isHandoffMessage(message)) this.onMessage(worker, message);
    });
    // The channel closes first: from then on nothing can be handed to the worker.
    worker.once('disconnect', () => this.remove(worker));
    worker.once('exit', () => this.remove(worker));
  }

  close(): void {
    this.server.close();
    for (const socket of this.waiting.splice(0)) socket.destroy();
  }

  private onMessage(worker: Worker, message: HandoffMessage): void {
    if (message.kind === 'gateway-ready') {
      if (!this.untaken.has(worker.id)) return;
      void this.listen().then(() => {
        if (!this.untaken.has(worker.id)) return;
        worker.send({ kind: 'gateway-port-open' } satisfies HandoffMessage, () => undefined);
        this.ready.push(worker);
        this.dispatch();
      });
    } else if (message.kind === 'gateway-client-taken') {
      const sockets = this.untaken.get(worker.id);
      sockets?.get(message.id)?.destroy();
      sockets?.delete(message.id);
      this.dispatch();
    }
  }

  /** The port is opened once the first worker is ready, so that no client waits on a port nobody serves yet. */
  private listen(): Promise<number> {
    this.listening ??= listenOn(this.server, this.host, this.port).then((port) => {
      // An accept that fails (EMFILE, ENOBUFS) is an 'error' of the server: it must go on, not crash.
      this.server.on('error', (error: Error) => this.acceptFailed.warn({ err: error.message }));
      this.logger.info({ port }, 'gateway primary listening for user clients');
      return port;
    }, (error: Error) => {
      this.logger.fatal({ err: error.message, port: this.port }, 'gateway primary could not listen for user clients');
      process.exit(1);
    });
    return this.listening;
  }

  private remove(worker: Worker): void {
    const at = this.ready.indexOf(worker);
    if (at >= 0) this.ready.splice(at, 1);
    // The worker's copies died with it; closing the primary's ends those connections.
    for (const socket of this.untaken.get(worker.id)?.values() ?? []) socket.destroy();
    this.untaken.delete(worker.id);
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const worker = this.nextWithRoom();
      if (!worker) return;
      this.handOff(worker, this.waiting.shift()!);
    }
  }

  /** The next ready worker, in turn, whose hand-off window has room. */
  private nextWithRoom(): Worker | undefined {
    for (let tried = 0; tried < this.ready.length; tried++) {
      const worker = this.ready[this.turn++ % this.ready.length]!;
      if (this.untaken.get(worker.id)!.size < HANDOFFS_IN_FLIGHT_PER_WORKER) return worker;
    }
    return undefined;
  }

  private handOff(worker: Worker, socket: Socket): void {
    const id = ++this.nextId;
    const sockets = this.untaken.get(worker.id)!;
    sockets.set(id, socket);
    // keepOpen: the primary closes its copy itself, once the worker has taken the socket or has exited.
    worker.send({ kind: 'gateway-client', id } satisfies HandoffMessage, socket, { keepOpen: true }, (error) => {
      if (!error) return;
      sockets.delete(id);
      socket.destroy();
      this.dispatch();
    });
  }
}
