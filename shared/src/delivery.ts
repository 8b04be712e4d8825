/**
 * The message the sequencer publishes on a user's channel: a header line with the
 * batch's last sequence number, then that user's notifications of the batch, each
 * ending in CRLF, ready to be written to the user's sockets as they are.
 */
const LF = 0x0a;

export function encodeDelivery(batchSeq: number, notifications: readonly string[]): string {
  return `${batchSeq}\n${notifications.join('\r\n')}\r\n`;
}

export interface Delivery {
  readonly batchSeq: number;
  readonly body: Buffer;
}

export function decodeDelivery(message: Buffer): Delivery | undefined {
  const headerEnd = message.indexOf(LF);
  if (headerEnd <= 0) return undefined;
  const batchSeq = Number(message.toString('latin1', 0, headerEnd));
  if (!Number.isSafeInteger(batchSeq)) return undefined;
  return { batchSeq, body: message.subarray(headerEnd + 1) };
}
