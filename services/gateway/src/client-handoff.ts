import type { Socket } from 'node:net';

/**
 * What a gateway's primary and its workers say to each other over the cluster's IPC
 * channel when the primary holds the client port (GATEWAY_PROCESSES > 1).
 */
export type HandoffMessage =
  /** Worker to primary: synced with Redis, it serves clients from now on. */
  | { readonly kind: 'gateway-ready' }
  /** Primary to worker: the client port is open (before it, the worker must not announce itself). */
  | { readonly kind: 'gateway-port-open' }
  /** Primary to worker, with the client's socket. */
  | { readonly kind: 'gateway-client'; readonly id: number }
  /** Worker to primary: it holds the socket, so the primary may close its own copy. */
  | { readonly kind: 'gateway-client-taken'; readonly id: number };

export function isHandoffMessage(message: unknown): message is HandoffMessage {
  if (typeof message !== 'object' || message === null) return false;
  const { kind, id } = message as { kind?: unknown; id?: unknown };
  return kind === 'gateway-ready' || kind === 'gateway-port-open'
    || ((kind === 'gateway-client' || kind === 'gateway-client-taken') && Number.isSafeInteger(id));
}

/** In a worker: the clients its primary hands over, each served with `serve` and confirmed once held. */
export class ClientsFromPrimary {
  private readonly onMessage = (message: unknown, handle: unknown) => {
    if (!isHandoffMessage(message) || message.kind !== 'gateway-client' || !handle) return;
    this.serve(handle as Socket);
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
