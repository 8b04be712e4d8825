/**
 * What a gateway reports of itself with every heartbeat, for people watching the stack
 * (`ops top`): `<prefix>:gateway-load:<gateway>`, written by the heartbeat's script with a
 * TTL. Notifications are a count since the gateway started, not a rate: the reader
 * computes rates from the counts it samples, on the stamps of the heartbeats that carried
 * them (Redis's clock), so that a reader sampling out of step with the heartbeats, or
 * several gateways summed, still add up.
 */
export interface GatewayLoad {
  /** Open client sockets, in the handshake or served. */
  readonly clients: number;
  /** Bytes written to client sockets that the kernel has not taken yet. */
  readonly unsentBytes: number;
  /** Notifications written to client sockets since the gateway started (one per socket). */
  readonly notificationsWritten: number;
}

/** A load as read back: with the Redis time (ms) of the heartbeat that wrote it. */
export interface ReportedGatewayLoad extends GatewayLoad {
  readonly atMs: number;
}

/** The value the heartbeat's script stores after the time it prepends. */
export function encodeGatewayLoad({ clients, unsentBytes, notificationsWritten }: GatewayLoad): string {
  return `${clients} ${unsentBytes} ${notificationsWritten}`;
}

/** Undefined for anything but `<atMs> <clients> <unsentBytes> <notificationsWritten>`. */
export function decodeGatewayLoad(text: string): ReportedGatewayLoad | undefined {
  const fields = text.split(' ');
  if (fields.length !== 4) return undefined;
  const [atMs, clients, unsentBytes, notificationsWritten] = fields.map((field) => (/^\d+$/.test(field) ? Number(field) : NaN));
  if (![atMs, clients, unsentBytes, notificationsWritten].every((value) => Number.isSafeInteger(value))) return undefined;
  return { atMs: atMs!, clients: clients!, unsentBytes: unsentBytes!, notificationsWritten: notificationsWritten! };
}
