import { createServer, type Server } from 'node:net';

/**
 * `count` distinct TCP ports that nothing listens on right now: the OS picks them
 * (port 0), so runs never collide with a stack someone else left on 9090/9099.
 * All are held open together so that the same port is not handed out twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listenOnAnyPort()));
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected server address');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Ports below Linux's ephemeral range, so that outgoing connections do not take them meanwhile. */
const RANGE_FROM = 15_000;
const RANGE_TO = 32_000;
const RANGE_ATTEMPTS = 50;

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
