import type { Socket } from 'node:net';

/**
 * What a gateway's primary and its workers say to each other over the cluster's IPC
 * channel when the primary holds the client port (GATEWAYS > 1).
 */
export type HandoffMessage =
  /** Worker to primary: synced with Redis, it serves clients from now on. */
  | { readonly kind: 'gateway-ready' }
  /** Primary to worker: the client port is open (before it, the worker must not announce itself). */
  | { readonly kind: 'gateway-port-open' }
  /** Primary to worker, with the client's socket. */
  | { readonly kind: 'gateway-client'; readonly id: number }
  /**
   * Worker to primary, for every hand-off: it holds the socket (or, stopping or without the
   * socket, has closed or never got it), so the primary may close its own copy.
   */
  | { readonly kind: 'gateway-client-taken'; readonly id: number };

export function isHandoffMessage(message: unknown): message is HandoffMessage {
  if (typeof message !== 'object' || message === null) return false;
  const { kind, id } = message as { kind?: unknown; id?: unknown };
  return kind === 'gateway-ready' || kind === 'gateway-port-open'
    || ((kind === 'gateway-client' || kind === 'gateway-client-taken') && Number.isSafeInteger(id));
}

/**
 * In a worker: the clients its primary hands over, each served with `serve` and confirmed.
 * Every hand-off is confirmed, the socket received or not (a worker out of descriptors
 * gets the message alone): an unconfirmed one would hold a slot of the worker's window and
 * the client's connection open in the primary until the worker exits.
 */
export class ClientsFromPrimary {
  private readonly onMessage = (message: unknown, handle: unknown) => {
    if (!isHandoffMessage(message) || message.kind !== 'gateway-client') return;
    if (handle) this.serve(handle as Socket);
    process.send?.({ kind: 'gateway-client-taken', id: message.id } satisfies HandoffMessage);
  };

  constructor(private readonly serve: (socket: Socket) => void) {}

  /** Tells the primary this worker is ready; resolves once the primary's client port is open. */
  open(): Promise<void> {
    process.on('message', this.onMessage);
    return new Promise((resolve) => {
      const onPortOpen = (message: unknown) => {
        if (!isHandoffMessage(message) || message.kind !== 'gateway-port-open') return;
        process.off('message', onPortOpen);
        resolve();
      };
      process.on('message', onPortOpen);
      process.send?.({ kind: 'gateway-ready' } satisfies HandoffMessage);
    });
  }

  close(): void {
    process.off('message', this.onMessage);
  }
}
