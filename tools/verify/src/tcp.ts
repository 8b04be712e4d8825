import { createConnection, type Socket } from 'node:net';

/** Size of the buffer a reading socket reuses for every read. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Connects, or rejects with the connection error or after `timeoutMs`. With
 * `onRead`, the socket reads into one buffer of its own, reused for every read
 * instead of a fresh allocation per read; `onRead` must be done with the bytes
 * when it returns.
 */
export function connect(
  host: string,
  port: number,
  timeoutMs: number,
  onRead?: (bytes: Uint8Array) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({
      host,
      port,
      ...(onRead && {
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
          callback: (length: number, buffer: Uint8Array) => {
            onRead(buffer.subarray(0, length));
            return true;
          },
        },
      }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      socket.off('connect', settle).off('error', settle);
      if (error === undefined) resolve(socket);
      else reject(error);
    };
    socket.once('connect', settle).once('error', settle);
  });
}

/** Writes and resolves once the bytes were handed to the kernel; false if the socket closed first. */
export function writeFully(socket: Socket, data: string | Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    socket.write(data, (error) => resolve(error == null));
  });
}

/** Resolves true on 'drain', false if the socket closes first. */
export function drained(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (ok: boolean): void => {
      socket.off('drain', onDrain).off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => settle(true);
    const onClose = (): void => settle(false);
    socket.once('drain', onDrain).once('close', onClose);
  });
}
