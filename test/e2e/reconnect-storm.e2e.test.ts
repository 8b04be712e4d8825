import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { keysFor } from '@follower-maze/shared';
import type { HeardJoins } from '../../tools/bench/src/join-listener.ts';
import { sendEvents } from '../support/broadcast-clients.ts';
import { OnePortStackFixture } from '../support/one-port-stack.ts';
import { clockMs, LocalPorts, ReconnectingClient } from '../support/reconnecting-client.ts';
import { eventually } from '../support/redis-fixture.ts';

const CLIENTS = 10_000;
const WORKERS = 2;
/** Clients of the worker that is killed. */
const VICTIMS = 5000;
/** From the moment a client sees its connection end to the moment it is routable again. */
const ROUTABLE_WITHIN_MS = 2000;
/** How long the test waits for every reconnected client to be routable before it names those that are not. */
const BACK_WAIT_MS = 5000;
/** Not connected: the sender of the private messages. */
const SENDER = CLIENTS + 1;
const JOIN_LISTENER = fileURLToPath(new URL('../../tools/bench/src/join-listener.ts', import.meta.url));
/**
 * A reconnect storm, as `GATEWAYS=2 npm start` serves the client port: one gateway service
 * on one port with two worker processes behind it (they share the listening socket and
 * each accepts its own connections; a balancer spreads them in compose). 10,000 clients connect
 * through the port (this process holds their sockets); the worker holding the most of
 * them keeps 5,000 (the rest are closed) and is killed with SIGKILL. Its clients see
 * their connections end and connect again at once through the same port, which stays
 * open while any worker lives: they land on the surviving worker or on the one started
 * in the killed one's place.
 *
 * Each must be routable again within 2 s of seeing its connection end, as the sequencer
 * hears it: the join naming its user is published on the gateway-events channel (the
 * sequencer applies a join as it receives it), heard by a subscriber in a process of its
 * own (the bench's join listener), so that this process's work with 10,000 sockets does
 * not delay it. Timed from the kill, the figure adds how long this one process, playing
 * 5,000 clients on a small machine, takes to see 5,000 connections end (0.4 - 0.7 s on
 * two cores, more when they are shared); the diagnostic gives both. The clients connect
 * from local ports of their own choosing (see LocalPorts). Then a private message to each
 * proves it end to end, and a broadcast after the sequencer has forgotten the dead worker
 * proves that they stay routable. The other worker's clients see nothing: no close, no
 * join again, and exactly the broadcasts, once each, in order.
 *
 * Every reconnection must be served. The workers accept from the one listening socket
 * themselves (see worker-supervisor.ts): a connection the killed worker had accepted but
 * not yet read is closed by the kernel with the process, so its client reconnects too.
 */
let fixture: OnePortStackFixture | undefined;
let clients: ReconnectingClient[] = [];
let listener: ChildProcess | undefined;
afterEach(async () => {
  for (const client of clients) client.retire();
  clients = [];
  listener?.kill('SIGKILL');
  listener = undefined;
  await fixture?.stop();
  fixture = undefined;
});

test(`a gateway worker holding ${VICTIMS} clients is killed: they reconnect through the client port, each routable within ${ROUTABLE_WITHIN_MS} ms; the other worker's clients see nothing`, async (t) => {
  fixture = await OnePortStackFixture.startOnePort({ workers: WORKERS, sequencers: 1 });
  const stack = fixture;
  const keys = keysFor(stack.keyPrefix);
  const localPorts = new LocalPorts();
  clients = Array.from({ length: CLIENTS }, (_, i) => new ReconnectingClient(i + 1, stack.clientPort, localPorts));
  const byUser = new Map(clients.map((client) => [client.userId, client]));
  await Promise.all(clients.map((client) => client.connect()));
  const placed = await eventually(async () => {
    const usersByGateway = await stack.usersByGateway();
    const online = [...usersByGateway.values()].reduce((sum, users) => sum + users.size, 0);
    assert.equal(online, CLIENTS, `${online} of ${CLIENTS} clients online`);
    return usersByGateway;
  }, 30_000, 100);
  assert.equal(placed.size, WORKERS, 'every worker holds clients');

  // The worker with the most clients holds at least half; its clients beyond 5,000 are closed for good.
  const [victimId, victimUsers] = [...placed].sort(([, a], [, b]) => b.size - a.size)[0]!;
  const survivorId = [...placed.keys()].find((gatewayId) => gatewayId !== victimId)!;
  const victims = [...victimUsers].sort((a, b) => a - b);
  for (const userId of victims.splice(VICTIMS)) byUser.get(userId)!.retire();
  await eventually(async () => {
    const held = await stack.redis.scard(keys.presence(victimId));
    assert.equal(held, VICTIMS, `the worker to be killed holds ${held} clients`);
  }, 10_000, 50);
  const victimClients = victims.map((userId) => byUser.get(userId)!);
  const survivorClients = [...placed.get(survivorId)!].map((userId) => byUser.get(userId)!);

  await sendEvents(stack.eventPort, ['1|B']);
  await receivedAtLeast([...victimClients, ...survivorClients], () => '1|B\r\n', 'the first broadcast');

  listener = fork(JOIN_LISTENER, [keys.gatewayEvents], {
    env: { ...process.env, REDIS_URL: stack.redisUrl }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced',
  });
  await nextMessage(listener, 'ready');

  const killedAtMs = clockMs();
  process.kill(Number(victimId.split('-').at(-2)), 'SIGKILL');

  // Routable again: in the presence set of a live worker, written in the transaction that publishes the join.
  const notBack = await victimsNotBack(stack, victimId, victims, survivorClients.length, BACK_WAIT_MS);
  const reportReceived = nextMessage<{ heard: HeardJoins }>(listener, 'report');
  listener.send({ kind: 'report' });
  const { heard } = await reportReceived;
  const unserved = notBack.map((userId) => byUser.get(userId)!);
  const served = victimClients.filter((client) => !notBack.includes(client.userId));

  // Per client: from seeing its connection end (the server gone) and from writing its id line again, to its join.
  const sinceEnd = served.map((client) => heard.get(client.userId)! - client.endedAtMs[0]!);
  const sinceIdLine = served.map((client) => heard.get(client.userId)! - client.idLineSentAtMs[1]!);
  const sinceKill = (times: readonly number[]): string => `${(Math.max(...times) - killedAtMs).toFixed(0)} ms`;
  const after = await stack.usersByGateway();
  const onSurvivor = served.filter((client) => after.get(survivorId)?.has(client.userId)).length;
  const failedAttempts = victimClients.reduce((sum, client) => sum + client.failedAttempts, 0);
  t.diagnostic(
    `reconnect storm: ${VICTIMS} clients of the killed worker, ${survivorClients.length} on the other; ${served.length} ` +
    `routable again; from a client's seeing its connection end to its join ${figures(sinceEnd)}; from its id line ${figures(sinceIdLine)}; ` +
    `after the kill: last end seen ${sinceKill(served.map((client) => client.endedAtMs[0]!))}, last id line written ` +
    `${sinceKill(served.map((client) => client.idLineSentAtMs[1]!))}, last join ${sinceKill(served.map((client) => heard.get(client.userId)!))}; ` +
    `${onSurvivor} on the surviving worker, ${served.length - onSurvivor} on its replacement; ${unserved.length} left unserved; ` +
    `${failedAttempts} connection attempts failed`,
  );

  // Joins heard since the kill: exactly the reconnected users', none of the other worker's.
  assert.deepEqual([...heard.keys()].sort((a, b) => a - b), served.map((client) => client.userId), 'joins heard after the kill');
  // Timed from when each client saw its server go: how soon this one process sees 5,000 connections end is its own affair.
  const late = served.filter((_, i) => sinceEnd[i]! > ROUTABLE_WITHIN_MS).length;
  assert.equal(late, 0, `${late} clients routable more than ${ROUTABLE_WITHIN_MS} ms after their connection ended (max ${Math.max(...sinceEnd).toFixed(0)} ms)`);
  assert.deepEqual(unserved.map(describe), [], `reconnected clients not routable within ${BACK_WAIT_MS} ms`);

  // End to end: a private message to each reconnected user, then a broadcast to all.
  const privates = new Map(victims.map((userId, i) => [userId, `${i + 2}|P|${SENDER}|${userId}`]));
  const secondBroadcast = `${VICTIMS + 2}|B`;
  await sendEvents(stack.eventPort, [...privates.values(), secondBroadcast]);
  const expectedNow = (client: ReconnectingClient): string => privates.has(client.userId)
    ? `${privates.get(client.userId)}\r\n${secondBroadcast}\r\n`
    : `1|B\r\n${secondBroadcast}\r\n`;
  await receivedAtLeast([...served, ...survivorClients], expectedNow, 'the private messages and the second broadcast');

  // Still routable once the sequencer has forgotten the dead worker (silent past its TTL) and its users there.
  await eventually(async () => {
    const gone = !(await stack.redis.hexists(keys.gateways, victimId));
    assert.ok(gone, 'the killed worker is still in the gateways');
  }, 15_000, 100);
  const lastBroadcast = `${VICTIMS + 3}|B`;
  await sendEvents(stack.eventPort, [lastBroadcast]);
  const expectedAtEnd = (client: ReconnectingClient): string => `${expectedNow(client)}${lastBroadcast}\r\n`;
  await receivedAtLeast([...served, ...survivorClients], expectedAtEnd, 'the broadcast after the dead worker was forgotten');

  const wrongServed = served.filter((client) =>
    client.connections.length !== 2 || client.connections[0]!.received !== '1|B\r\n' || !client.connections[0]!.closed
    || client.current.closed || client.current.received !== expectedAtEnd(client));
  assert.deepEqual(wrongServed.map(describe), [], 'each reconnected client: one reconnection, which received its private message and the later broadcasts, once each');
  const wrongSurvivors = survivorClients.filter((client) =>
    client.connections.length !== 1 || client.current.closed || client.current.received !== expectedAtEnd(client));
  assert.deepEqual(wrongSurvivors.map(describe), [], 'each other worker\'s client: still its first connection, exactly the three broadcasts');
});

/**
 * Polls the live workers' presence sets until every victim is in one, or for `waitMs`;
 * returns those that are not. Counts only (SCARD) while waiting: the storm is being timed.
 */
async function victimsNotBack(
  stack: OnePortStackFixture, victimId: string, victims: readonly number[], othersOnline: number, waitMs: number,
): Promise<number[]> {
  const keys = keysFor(stack.keyPrefix);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const live = (await stack.workers()).filter(({ gatewayId }) => gatewayId !== victimId);
    const counts = await Promise.all(live.map(({ gatewayId }) => stack.redis.scard(keys.presence(gatewayId))));
    if (counts.reduce((sum, count) => sum + count, 0) >= othersOnline + victims.length || Date.now() > deadline) break;
    await sleep(100);
  }
  const usersByGateway = await stack.usersByGateway();
  usersByGateway.delete(victimId);
  const back = new Set([...usersByGateway.values()].flatMap((users) => [...users]));
  return victims.filter((userId) => !back.has(userId));
}

/** p50, p99 and max of the samples, in ms. */
function figures(samples: readonly number[]): string {
  return `p50 ${percentile(samples, 0.5).toFixed(0)}, p99 ${percentile(samples, 0.99).toFixed(0)}, max ${Math.max(...samples).toFixed(0)} ms`;
}

/** The value at quantile q (0..1) of the samples, by nearest rank. */
function percentile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

/** Waits until each client's newest connection has received as many characters as expected (checked exactly afterwards). */
async function receivedAtLeast(clients: readonly ReconnectingClient[], expected: (client: ReconnectingClient) => string, what: string): Promise<void> {
  await eventually(() => {
    const waiting = clients.filter((client) => client.current.received.length < expected(client).length).length;
    assert.equal(waiting, 0, `${waiting} clients still wait for ${what}`);
  }, 20_000, 50);
}

function describe(client: ReconnectingClient): string {
  return `user ${client.userId}: ${client.connections.length} connection(s), ` +
    client.connections.map((peer) => `${JSON.stringify(peer.received)}${peer.closed ? ' (closed)' : ''}`).join(', ');
}

function nextMessage<T = unknown>(child: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { kind: string } & T) => {
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the join listener exited with code ${code} before it was ${kind}`)));
  });
}
