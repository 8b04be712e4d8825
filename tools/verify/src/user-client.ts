import type { Socket } from 'node:net';
import type { ClientVerifier } from './client-verifier.ts';
import type { LineEnding } from './shuffled-batch-encoder.ts';
import { connect, writeFully } from './tcp.ts';

/**
 * One user client on the wire: connects, sends its id line, then only reads,
 * handing every chunk with its arrival time to its verifier.
 */
export class UserClient {
  private socket: Socket | undefined;
  private closing = false;

  constructor(
    private readonly verifier: ClientVerifier,
    private readonly host: string,
    private readonly port: number,
    /** Called when the server closes or breaks the connection before the run is over. */
    private readonly onLost: () => void,
  ) {}

  /** Resolves true once the id line was sent; false (with a failure recorded) if that was impossible. */
  async open(lineEnding: LineEnding, timeoutMs: number): Promise<boolean> {
    try {
      const socket = await connect(this.host, this.port, timeoutMs, (bytes) => this.verifier.receive(bytes, performance.now()));
      if (this.closing) {
        socket.destroy();
        return false;
      }
      this.socket = socket;
      let lastError: Error | undefined;
      socket.on('error', (error) => (lastError = error));
      socket.on('close', () => {
        if (this.closing) return;
        const pending = this.verifier.pending;
        const cause = lastError === undefined ? 'closed by the server' : `lost (${lastError.message})`;
        this.verifier.fail(() => `connection ${cause} with notifications still expected: ${pending}`);
        this.onLost();
      });
      return await writeFully(socket, `${this.verifier.userId}${lineEnding}`);
    } catch (error) {
      this.verifier.fail(() => `cannot connect to ${this.host}:${this.port}: ${(error as Error).message}`);
      return false;
    }
  }

  close(): void {
    this.closing = true;
    this.socket?.destroy();
  }
}
