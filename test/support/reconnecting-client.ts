import { setTimeout as sleep } from 'node:timers/promises';
import { TcpPeer } from './tcp-peer.ts';

/** Pause before a connection attempt that failed is made again. */
const RETRY_MS = 20;
/** Local ports handed out, below Linux's ephemeral range (32768–60999). */
const FIRST_LOCAL_PORT = 1024;
const LAST_LOCAL_PORT = 32767;

/**
 * Local ports for many connections from this one process, taken in turn. Left to the
 * kernel, every connect() searches the ephemeral range for a free port, which with some
 * 15,000 of them in use (ours, and those of the runs before, in TIME_WAIT) took about
 * 0.15 ms each: half a second over 5,000 reconnections, that clients on hosts of their
 * own do not spend (the bench's crowd does the same, see tools/bench/src/crowd-worker.ts).
 */
export class LocalPorts {
  private next = FIRST_LOCAL_PORT;

  take(): number {
    const port = this.next;
    this.next = port >= LAST_LOCAL_PORT ? FIRST_LOCAL_PORT : port + 1;
    return port;
  }
}

/** This machine's clock in ms, comparable across its processes (as the bench's join listener reads it). */
export function clockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A user client as a real one behaves when its server goes away: when the server ends or
 * resets its connection, it connects again at once to the same port and sends its id line again.
 * Every connection is kept, with what it received, and when each id line was written.
 */
export class ReconnectingClient {
  readonly connections: TcpPeer[] = [];
  /** When each connection's id line was written, by `clockMs()`. */
  readonly idLineSentAtMs: number[] = [];
  /** When the server was seen to end or reset each connection, by `clockMs()`; absent while it is open. */
  readonly endedAtMs: number[] = [];
  /** Connection attempts that failed (and were made again). */
  failedAttempts = 0;
  private retired = false;

  constructor(
    readonly userId: number,
    readonly port: number,
    private readonly localPorts: LocalPorts,
  ) {}

  /** The newest connection. */
  get current(): TcpPeer {
    const peer = this.connections.at(-1);
    if (!peer) throw new Error(`user ${this.userId} never connected`);
    return peer;
  }

  /** Resolves once connected and the id line is written; tries again until it connects or is retired. */
  async connect(): Promise<void> {
    while (!this.retired) {
      let peer: TcpPeer;
      try {
        peer = await TcpPeer.open(this.port, this.localPorts.take());
      } catch (error) {
        // A local port someone holds: the next one, at once.
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        this.failedAttempts++;
        await sleep(RETRY_MS);
        continue;
      }
      if (this.retired) {
        peer.destroy();
        return;
      }
      const index = this.connections.push(peer) - 1;
      // The server's end of the stream (or a reset) means it is gone: connect again without waiting for our side to close.
      const gone = () => {
        if (this.endedAtMs[index] !== undefined) return;
        this.endedAtMs[index] = clockMs();
        if (!this.retired) void this.connect();
      };
      peer.socket.once('end', gone);
      peer.socket.once('close', gone);
      this.idLineSentAtMs.push(clockMs());
      peer.socket.write(`${this.userId}\r\n`);
      return;
    }
  }

  /** Closes the connection for good: no reconnection. */
  retire(): void {
    this.retired = true;
    this.connections.at(-1)?.destroy();
  }
}
