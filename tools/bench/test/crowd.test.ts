import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Crowd } from '../src/crowd.ts';

/**
 * The crowd against two plain TCP servers standing in for gateways: each notes its
 * clients by id line, and the test writes them broadcast lines (whole, split across
 * writes, wrong) or closes one, to see what the crowd reports.
 */
class FakeGateway {
  readonly clients = new Map<number, Socket>();
  private constructor(readonly server: Server, readonly port: number) {}

  static async start(): Promise<FakeGateway> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const gateway = new FakeGateway(server, typeof address === 'object' && address ? address.port : 0);
    server.on('connection', (socket) => {
      socket.on('error', () => undefined);
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.endsWith('\r\n')) gateway.clients.set(Number(text.trim()), socket);
      });
    });
    return gateway;
  }

  close(): Promise<void> {
    for (const socket of this.clients.values()) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const gateways: FakeGateway[] = [];
let crowd: Crowd | undefined;
after(async () => {
  crowd?.kill();
  await Promise.all(gateways.map((gateway) => gateway.close()));
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('the crowd spreads its clients over the ports by user id, times a broadcast per socket and reports what went wrong', async () => {
  gateways.push(await FakeGateway.start(), await FakeGateway.start());
  const ports = gateways.map(({ port }) => port);
  crowd = await Crowd.start(300, ports, { clientsPerWorker: 100, connectsInFlight: 10 });
  const connected = await crowd.connectAll();
  assert.equal(connected.connected, 300);
  assert.deepEqual(connected.perGateway, [150, 150]);
  assert.ok(connected.lastIdLineAtMs >= connected.firstConnectAtMs);
  await until(() => gateways[0]!.clients.size + gateways[1]!.clients.size === 300);
  // User ids are consecutive from the crowd's first; an even id is on the first port.
  for (const [userId] of gateways[0]!.clients) assert.equal(userId % 2, 0);

  await crowd.arm(1);
  const sentAtMs = performance.timeOrigin + performance.now();
  const sockets = gateways.flatMap((gateway) => [...gateway.clients.values()]);
  const [split, closed, ...rest] = sockets;
  split!.write('1|');
  for (const socket of rest) socket.write('1|B\r\n');
  closed!.destroy();
  assert.equal(await crowd.waitComplete(1, 200), false, 'one socket has half a line');
  split!.write('B\r\n');
  assert.equal(await crowd.waitComplete(1, 5000), true);
  const arrivals = await crowd.arrivals();
  assert.equal(arrivals.missing, 1);
  assert.equal(arrivals.closedByServer, 1);
  assert.equal(arrivals.arrivalsPerGateway.flat().length, 299);
  assert.ok(arrivals.arrivalsPerGateway.flat().every((atMs) => atMs >= sentAtMs - 1));
  assert.equal(arrivals.badLines + arrivals.outOfOrder + arrivals.unexpected, 0);

  await crowd.arm(2);
  rest[0]!.write('1|B\r\n'); // repeated
  rest[1]!.write('3|B\r\n'); // not armed
  rest[2]!.write('2|B\n'); // no CR
  for (const socket of [split!, ...rest.slice(3)]) socket.write('2|B\r\n');
  assert.equal(await crowd.waitComplete(2, 500), false);
  const second = await crowd.arrivals();
  assert.equal(second.missing, 4, 'the closed client and the three wrong ones');
  assert.equal(second.outOfOrder, 1);
  assert.equal(second.unexpected, 1);
  assert.equal(second.badLines, 1);

  const stopped = await crowd.stop();
  crowd = undefined;
  assert.equal(stopped.connected, 300);
  assert.equal(stopped.closedByServer, 1);
});
