import { createServer, type Server } from 'node:net';

/**
 * Ports below Linux's ephemeral range (32768 – 60999), so that no outgoing connection
 * takes one as its local port between the check here and the service's listen: a port
 * the OS picked (port 0) comes from that range, and a stack's own Redis connections,
 * opened while its processes start, could hold it for as long as they live.
 */
const RANGE_FROM = 15_000;
const RANGE_TO = 32_000;
const RANGE_ATTEMPTS = 50;

/**
 * `count` distinct TCP ports that nothing listens on right now, drawn at random below
 * the ephemeral range, so runs never collide with a stack someone else left on 9090/9099.
 * All are held open together so that the same port is not handed out twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held = new Map<number, Server>();
  try {
    for (let attempt = 0; held.size < count; attempt++) {
      if (attempt >= count * RANGE_ATTEMPTS) throw new Error(`no ${count} free ports found between ${RANGE_FROM} and ${RANGE_TO}`);
      const port = RANGE_FROM + Math.floor(Math.random() * (RANGE_TO - RANGE_FROM));
      if (held.has(port)) continue;
      const server = await listenOnPort(port);
      if (server) held.set(port, server);
    }
    return [...held.keys()];
  } finally {
    await Promise.all([...held.values()].map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/**
 * The first of `count` consecutive ports that nothing listens on right now (on
 * 127.0.0.1), for a stack that numbers its processes' metrics ports from one.
 */
export function freePortRange(count: number): Promise<number> {
  return firstFreeRange(count, [0], RANGE_TO);
}

/** A Redis Cluster node's bus port is its port + 10000 (unless `cluster-port` says otherwise). */
const CLUSTER_BUS_OFFSET = 10_000;

/**
 * Like `freePortRange`, for the nodes of a Redis Cluster on consecutive ports: their bus
 * ports, 10000 above, are free too, and below Linux's ephemeral range as well.
 */
export function freeClusterPortRange(count: number): Promise<number> {
  return firstFreeRange(count, [0, CLUSTER_BUS_OFFSET], RANGE_TO - CLUSTER_BUS_OFFSET);
}

/** `count` consecutive ports from a random first one below `to`, each free also at every offset. */
async function firstFreeRange(count: number, offsets: readonly number[], to: number): Promise<number> {
  for (let attempt = 0; attempt < RANGE_ATTEMPTS; attempt++) {
    const first = RANGE_FROM + Math.floor(Math.random() * (to - RANGE_FROM - count));
    const ports = offsets.flatMap((offset) => Array.from({ length: count }, (_, index) => first + offset + index));
    const bound = await Promise.all(ports.map((port) => listenOnPort(port)));
    await Promise.all(bound.map((server) => server && new Promise((resolve) => server.close(resolve))));
    if (bound.every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports found between ${RANGE_FROM} and ${to}`);
}

function listenOnPort(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
