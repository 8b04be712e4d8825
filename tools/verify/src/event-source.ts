import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { drained } from './tcp.ts';

export interface ChunkStream {
  /** Next bytes to send; null when everything was produced. */
  nextChunk(): Uint8Array | null;
  /** Awaited before each chunk: lets the caller hold the source back. */
  ready(): Promise<void>;
  /** Called after each chunk was handed to the socket. */
  written(): void;
}

/**
 * Streams chunks to the event listener, then half-closes the connection.
 * Honours back-pressure: when the server stops reading, the socket buffer
 * fills, write() returns false and the source waits for 'drain', so at most
 * one chunk beyond the socket's high-water mark is ever held. Between writes
 * it yields to the event loop so that the user clients, in the same process,
 * keep reading. Returns false if the socket closed before everything was sent.
 */
export async function streamEvents(socket: Socket, stream: ChunkStream): Promise<boolean> {
  for (;;) {
    await stream.ready();
    if (socket.destroyed) return false;
    const chunk = stream.nextChunk();
    if (chunk === null) break;
    const flushed = socket.write(chunk);
    stream.written();
    if (flushed) await nextTurn();
    else if (!(await drained(socket))) return false;
  }
  socket.end();
  return true;
}
