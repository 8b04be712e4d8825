import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClientVerifier } from './client-verifier.ts';
import type { LineEnding } from './shuffled-batch-encoder.ts';
import { connect, writeFully } from './tcp.ts';

/** How long a reconnecting client keeps trying: a replica or a restarted gateway answers well within it. */
export const RECONNECT_BUDGET_MS = 5000;
const FIRST_RETRY_DELAY_MS = 20;
const MAX_RETRY_DELAY_MS = 500;

export interface UserClientOptions {
  readonly host: string;
  /** The client connects to ports[firstPortIndex], and reconnects to the following ones, round-robin. */
  readonly ports: readonly number[];
  readonly firstPortIndex: number;
  readonly lineEnding: LineEnding;
  readonly timeoutMs: number;
  /** Reconnect when the server closes the connection, instead of failing the run. */
  readonly reconnect: boolean;
  /** Told, with `performance.now()`, as the id line is written. */
  readonly onIdLineSent?: ((userId: number, atMs: number) => void) | undefined;
}

/**
 * One user client on the wire: connects, sends its id line, then only reads,
 * handing every chunk with its arrival time to its verifier.
 */
export class UserClient {
  private socket: Socket | undefined;
  private portIndex: number;
  private closing = false;
  private reconnecting = false;

  constructor(
    private readonly verifier: ClientVerifier,
    private readonly options: UserClientOptions,
    /** Called when the server closes or breaks the connection before the run is over, and it is not won back. */
    private readonly onLost: () => void,
  ) {
    this.portIndex = options.firstPortIndex % options.ports.length;
  }

  private get port(): number {
    return this.options.ports[this.portIndex]!;
  }

  /** Resolves true once the id line was sent; false (with a failure recorded) if that was impossible. */
  async open(): Promise<boolean> {
    try {
      return await this.connectAndIdentify(this.options.timeoutMs);
    } catch (error) {
      this.verifier.fail(() => `cannot connect to ${this.options.host}:${this.port}: ${(error as Error).message}`);
      return false;
    }
  }

  close(): void {
    this.closing = true;
    this.socket?.destroy();
  }

  private async connectAndIdentify(timeoutMs: number): Promise<boolean> {
    const { host, lineEnding } = this.options;
    const socket = await connect(host, this.port, timeoutMs, (bytes) => this.verifier.receive(bytes, performance.now()));
    if (this.closing) {
      socket.destroy();
      return false;
    }
    this.socket = socket;
    let lastError: Error | undefined;
    socket.on('error', (error) => (lastError = error));
    socket.on('close', () => this.closed(socket, lastError));
    this.options.onIdLineSent?.(this.verifier.userId, performance.now());
    return writeFully(socket, `${this.verifier.userId}${lineEnding}`);
  }

  private closed(socket: Socket, error: Error | undefined): void {
    // An earlier connection, or an attempt that the reconnection loop sees fail by itself.
    if (this.closing || socket !== this.socket || this.reconnecting) return;
    const cause = error === undefined ? 'closed by the server' : `lost (${error.message})`;
    if (!this.options.reconnect) {
      const pending = this.verifier.pending;
      this.verifier.fail(() => `connection ${cause} with notifications still expected: ${pending}`);
      this.onLost();
      return;
    }
    this.verifier.disconnected();
    void this.reconnect(cause);
  }

  /** Tries the next ports in turn, backing off, until one takes the id line or the budget is spent. */
  private async reconnect(cause: string): Promise<void> {
    this.reconnecting = true;
    const deadline = performance.now() + RECONNECT_BUDGET_MS;
    let retryDelayMs = FIRST_RETRY_DELAY_MS;
    for (;;) {
      this.portIndex = (this.portIndex + 1) % this.options.ports.length;
      const left = deadline - performance.now();
      const socket = await this.connectAndIdentify(Math.max(1, Math.min(left, this.options.timeoutMs))).then(
        (identified) => (identified ? this.socket : undefined),
        () => undefined,
      );
      if (this.closing) return;
      // Still open once identified: a close from here on starts another reconnection.
      if (socket !== undefined && !socket.destroyed) {
        this.reconnecting = false;
        this.verifier.identified(performance.now());
        return;
      }
      socket?.destroy();
      if (performance.now() + retryDelayMs >= deadline) {
        this.reconnecting = false;
        this.verifier.fail(() => `connection ${cause}, and no port of ${this.options.ports.join(',')} took it back within ${RECONNECT_BUDGET_MS} ms`);
        this.onLost();
        return;
      }
      await delay(retryDelayMs);
      retryDelayMs = Math.min(retryDelayMs * 2, MAX_RETRY_DELAY_MS);
      if (this.closing) return;
    }
  }
}
