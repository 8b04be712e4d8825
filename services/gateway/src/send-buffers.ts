import type { Socket } from 'node:net';

export type OverflowReason = 'client' | 'total';

/**
 * Bytes written to client sockets that have not left the process yet (those the kernel
 * did not take at once, until their write completes), per client and for all clients
 * together, each with a cap.
 * A client past its own cap is disconnected; when the total passes the other cap, the
 * clients with the most unsent bytes are disconnected until it is back under. Either
 * way the client is dropped rather than buffered without limit or allowed to slow the rest.
 */
export class SendBuffers {
  private readonly unsent = new Map<Socket, number>();
  private totalBytes = 0;

  constructor(
    private readonly maxClientBytes: number,
    private readonly maxTotalBytes: number,
    /** Told of each client disconnected for a cap, just before it is destroyed. */
    private readonly dropped: (socket: Socket, reason: OverflowReason, unsentBytes: number) => void,
  ) {}

  get total(): number {
    return this.totalBytes;
  }

  write(socket: Socket, body: Buffer): void {
    if (socket.destroyed) return;
    // A socket with a queue keeps what it is given until the client reads it. A body is a
    // slice of a Redis read (up to 64 KiB) and would keep all of that alive: queue a copy,
    // so that the bytes counted are the bytes held.
    const chunk = socket.writableLength > 0 ? Buffer.from(body) : body;
    let held = false;
    socket.write(chunk, () => {
      if (held) this.sent(socket, chunk.length);
    });
    // Usually the kernel takes it at once; otherwise the socket holds it, and every chunk before it.
    if (socket.writableLength === 0) return;
    held = true;
    const unsent = (this.unsent.get(socket) ?? 0) + chunk.length;
    this.unsent.set(socket, unsent);
    this.totalBytes += chunk.length;
    if (unsent > this.maxClientBytes) this.drop(socket, 'client');
    else if (this.totalBytes > this.maxTotalBytes) this.shed();
  }

  /** A closed socket's bytes are gone; callbacks that come later are ignored. */
  release(socket: Socket): void {
    this.totalBytes -= this.unsent.get(socket) ?? 0;
    this.unsent.delete(socket);
  }

  private sent(socket: Socket, bytes: number): void {
    const unsent = this.unsent.get(socket);
    if (unsent === undefined) return;
    this.totalBytes -= bytes;
    if (unsent === bytes) this.unsent.delete(socket);
    else this.unsent.set(socket, unsent - bytes);
  }

  /** Largest first: the fewest clients lose their connection, and they are the ones furthest behind. */
  private shed(): void {
    const largestFirst = Array.from(this.unsent).sort(([, a], [, b]) => b - a);
    for (const [socket] of largestFirst) {
      if (this.totalBytes <= this.maxTotalBytes) return;
      this.drop(socket, 'total');
    }
  }

  private drop(socket: Socket, reason: OverflowReason): void {
    const unsentBytes = this.unsent.get(socket) ?? 0;
    this.release(socket);
    this.dropped(socket, reason, unsentBytes);
    socket.destroy();
  }
}
