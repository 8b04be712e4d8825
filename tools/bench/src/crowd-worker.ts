import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * One process of the crowd (see crowd.ts): connects its share of user clients, each
 * sending its id line and then reading and counting what arrives, and reports over IPC.
 * A process holds at most a few thousand sockets, well inside its descriptor limit.
 *
 * argv: first user id, count, local address to connect from, gateway ports (comma list).
 */
const CONNECTS_IN_FLIGHT = 200;
const RETRY_DELAY_MS = 100;
const MAX_ATTEMPTS = 50;

export interface CrowdWorkerReport {
  readonly connected: number;
  readonly closedByServer: number;
  readonly bytesReceived: number;
}

const [firstUser, count, localAddress, portList] = process.argv.slice(2) as [string, string, string, string];
const ports = portList.split(',').map(Number);
const sockets: Socket[] = [];
let bytesReceived = 0;
let closedByServer = 0;
let stopping = false;

function open(userId: number, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => {
      socket.write(`${userId}\r\n`);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function openWithRetry(userId: number, port: number): Promise<Socket> {
  for (let attempt = 1; ; attempt++) {
    try {
      const socket = await open(userId, port);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => (bytesReceived += chunk.length));
      socket.on('close', () => {
        if (!stopping) closedByServer++;
      });
      return socket;
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS) throw error;
      await delay(RETRY_DELAY_MS);
    }
  }
}

const first = Number(firstUser);
const total = Number(count);
for (let start = 0; start < total; start += CONNECTS_IN_FLIGHT) {
  const group = Array.from({ length: Math.min(CONNECTS_IN_FLIGHT, total - start) }, (_, i) => start + i);
  sockets.push(...(await Promise.all(group.map((i) => openWithRetry(first + i, ports[(first + i) % ports.length]!)))));
}
const report = (): CrowdWorkerReport => ({ connected: sockets.length, closedByServer, bytesReceived });
process.send!({ kind: 'connected', ...report() });
process.on('message', (message: { kind: string }) => {
  if (message.kind !== 'stop') return;
  stopping = true;
  process.send!({ kind: 'stopped', ...report() }, () => {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  });
});
