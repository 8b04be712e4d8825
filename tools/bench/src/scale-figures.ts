// The arithmetic of `npm run bench:scale`, kept apart from processes and sockets.

const MS_PER_S = 1000;

/**
 * Memory per connection of one process: what it grew by from idle to holding
 * `connections` idle clients, divided among them; undefined without connections.
 */
export function bytesPerConnection(beforeBytes: number, afterBytes: number, connections: number): number | undefined {
  return connections > 0 ? (afterBytes - beforeBytes) / connections : undefined;
}

/** Clients per second over a span of this machine's clock (ms); undefined for an empty span. */
export function ratePerSecond(count: number, fromMs: number, toMs: number): number | undefined {
  return toMs > fromMs ? (count * MS_PER_S) / (toMs - fromMs) : undefined;
}

export interface ArrivalFigures {
  /** Sockets it reached. */
  readonly count: number;
  /** Milliseconds from sending to the first, median, 99th percentile and last arrival. */
  readonly firstMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly lastMs: number;
}

/** Nearest rank of a sorted list: the smallest value with at least `fraction` of the values at or below it. */
function rank(sorted: readonly number[], fraction: number): number {
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)]!;
}

/** How long after `sentAtMs` one broadcast reached sockets (arrival times on the same clock); undefined if it reached none. */
export function arrivalFigures(sentAtMs: number, arrivalsMs: readonly number[]): ArrivalFigures | undefined {
  if (arrivalsMs.length === 0) return undefined;
  const sorted = arrivalsMs.map((at) => at - sentAtMs).sort((a, b) => a - b);
  return { count: sorted.length, firstMs: sorted[0]!, p50Ms: rank(sorted, 0.5), p99Ms: rank(sorted, 0.99), lastMs: sorted.at(-1)! };
}

/** Smallest and largest of some figures, e.g. of every gateway's; undefined for none. */
export function range(values: readonly (number | undefined)[]): { readonly min: number; readonly max: number } | undefined {
  const known = values.filter((value): value is number => value !== undefined);
  return known.length === 0 ? undefined : { min: Math.min(...known), max: Math.max(...known) };
}

/** Clients of the busiest gateway when user `id` connects to gateway `id % gateways` (consecutive ids). */
export function clientsOfBusiestGateway(clients: number, gateways: number): number {
  return Math.ceil(clients / gateways);
}

/** Descriptors a gateway process needs beside its clients: Redis connections, its listener, logs, IPC, Node's own. */
export const GATEWAY_DESCRIPTOR_RESERVE = 200;

/**
 * GATEWAY_MAX_CLIENTS for a scale run: the service's default while the busiest gateway's
 * share fits under it, else raised to that share, since the default would refuse the
 * rest of the crowd. Throws, naming a gateway count that fits, when the share plus the
 * gateway's other descriptors passes the per-process descriptor limit.
 */
export function gatewayMaxClients(
  clients: number, gateways: number, defaultMaxClients: number, descriptorLimit: number, gatewaysVariable: string,
): number {
  const share = clientsOfBusiestGateway(clients, gateways);
  const fits = descriptorLimit - GATEWAY_DESCRIPTOR_RESERVE;
  if (share > fits) {
    const enough = Math.ceil(clients / fits);
    throw new Error(
      `${clients} clients over ${gateways} gateways put ${share} on one, and a process may hold ${descriptorLimit} descriptors ` +
        `(ulimit -n) of which ${fits} for clients: use at least ${enough} gateways, e.g. ${gatewaysVariable}=${enough}`,
    );
  }
  return Math.max(defaultMaxClients, share);
}
