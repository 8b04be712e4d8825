import { connect, type Socket } from 'node:net';

/** A raw TCP peer for tests: connects, writes, and keeps everything it reads. */
export class TcpPeer {
  received = '';
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => (this.received += text));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /**
   * `localPort`: connect from that port of 127.0.0.1 instead of one the kernel picks;
   * `from`: connect to `host` from `localAddress` (another loopback address, `::1`).
   */
  static open(port: number, localPort?: number, from?: { readonly host: string; readonly localAddress: string }): Promise<TcpPeer> {
    const { host, localAddress } = from ?? { host: '127.0.0.1', localAddress: '127.0.0.1' };
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, ...((localPort || from) && { localAddress }), ...(localPort && { localPort }) }, () => resolve(new TcpPeer(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): Promise<void> {
    return new Promise((resolve) => this.socket.write(text, () => resolve()));
  }

  /** Half-closes and waits until the server has seen it. */
  end(): Promise<void> {
    return new Promise((resolve) => this.socket.end(() => resolve()));
  }

  destroy(): void {
    this.socket.destroy();
  }
}
