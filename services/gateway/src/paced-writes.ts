import type { Socket } from 'node:net';

/**
 * Longest run of socket writes in one turn of the event loop. Every delivery is a write
 * system call, about 40 µs each here: a broadcast to the 10,000 users of a gateway held
 * its event loop for seconds at a time (heartbeats went out late, joins waited), when
 * the whole burst Redis hands over in one read was written at once.
 */
export const WRITE_SLICE_MS = 10;

/**
 * Writes deliveries to client sockets in order, a slice of at most `sliceMs` per turn of
 * the event loop, so that timers (heartbeats) and I/O (joins, more deliveries) run in
 * between however many sockets one burst reaches. A socket's deliveries waiting together
 * go out in one write (corked). `afterWritten` runs its callback once everything queued
 * before it is written: the gateway acknowledges a batch only then, so the sequencer's
 * in-flight window bounds what waits here.
 */
export class PacedWrites {
  /** Sockets with deliveries waiting, and callbacks, in the order they were queued. */
  private queue: (Socket | (() => void))[] = [];
  private readonly waiting = new Map<Socket, Buffer[]>();
  private scheduled = false;

  constructor(
    private readonly writeNow: (socket: Socket, chunk: Buffer) => void,
    private readonly sliceMs = WRITE_SLICE_MS,
  ) {}

  write(socket: Socket, chunk: Buffer): void {
    const chunks = this.waiting.get(socket);
    if (chunks) {
      chunks.push(chunk);
      return;
    }
    this.waiting.set(socket, [chunk]);
    this.enqueue(socket);
  }

  /** Runs `callback` once every write queued so far has been handed to its socket. */
  afterWritten(callback: () => void): void {
    this.enqueue(callback);
  }

  private enqueue(entry: Socket | (() => void)): void {
    this.queue.push(entry);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    const deadline = performance.now() + this.sliceMs;
    let done = 0;
    while (done < this.queue.length && performance.now() < deadline) {
      const entry = this.queue[done++]!;
      if (typeof entry === 'function') entry();
      else this.flush(entry);
    }
    // What is done is let go, so that the queue holds no more than what waits.
    this.queue = this.queue.slice(done);
    if (this.queue.length > 0) setImmediate(() => this.drain());
    else this.scheduled = false;
  }

  private flush(socket: Socket): void {
    const chunks = this.waiting.get(socket)!;
    this.waiting.delete(socket);
    if (socket.destroyed) return;
    if (chunks.length === 1) {
      this.writeNow(socket, chunks[0]!);
      return;
    }
    socket.cork();
    for (const chunk of chunks) this.writeNow(socket, chunk);
    socket.uncork();
  }
}
