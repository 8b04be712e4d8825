import type { Socket } from 'node:net';
import { LineSplitter, positiveInteger } from '@follower-maze/shared';

export type HandshakeResult =
  | { readonly ok: true; readonly userId: number }
  | { readonly ok: false; readonly reason: string; readonly input: string }
  /** Connected and closed without a byte: a balancer's health check, not a misbehaving client. */
  | { readonly ok: false; readonly probe: true };

/**
 * Reads a user client's first line, its user id (CRLF or LF, surrounding blanks
 * ignored), within a time limit and a size limit. What the client sends afterwards
 * is read and discarded: the protocol has it send nothing more.
 */
export function readUserId(socket: Socket, maxLineBytes: number, timeoutMs: number): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: HandshakeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.on('data', discard);
      resolve(result);
    };
    const splitter = new LineSplitter(maxLineBytes, {
      line: (text) => {
        const userId = positiveInteger(text.trim());
        finish(userId > 0 ? { ok: true, userId } : { ok: false, reason: 'user id is not a positive integer', input: text });
      },
      oversized: (bytes) => finish({ ok: false, reason: `id line longer than ${maxLineBytes} bytes`, input: `${bytes} bytes` }),
    });
    let bytesRead = 0;
    const onData = (chunk: Buffer) => {
      bytesRead += chunk.length;
      splitter.push(chunk);
    };
    const onEnd = () =>
      finish(bytesRead === 0 ? { ok: false, probe: true } : { ok: false, reason: 'closed before ending its id line', input: '' });
    const timer = setTimeout(() => finish({ ok: false, reason: `no user id within ${timeoutMs} ms`, input: '' }), timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}

function discard(): void {}
