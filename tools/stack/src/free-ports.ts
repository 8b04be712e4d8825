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
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < RANGE_ATTEMPTS; attempt++) {
    const first = RANGE_FROM + Math.floor(Math.random() * (RANGE_TO - RANGE_FROM - count));
    const bound = await Promise.all(Array.from({ length: count }, (_, offset) => listenOnPort(first + offset)));
    await Promise.all(bound.map((server) => server && new Promise((resolve) => server.close(resolve))));
    if (bound.every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports found between ${RANGE_FROM} and ${RANGE_TO}`);
}

function listenOnPort(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
