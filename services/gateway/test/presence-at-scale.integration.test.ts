import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { chunksOf } from '../src/chunks.ts';
import { eventually, testRedis } from '../../../test/support/redis-fixture.ts';
import { PresenceStack } from './support/presence-stack.ts';

/** Online users on one gateway: ten times what one process could hold as sockets here (~20,000 descriptors). */
const USERS = 200_000;
/** Users joining at a time, as a burst of connecting clients would. */
const JOIN_BURST = 10_000;

async function timed<T>(what: () => Promise<T>): Promise<[result: T, ms: number]> {
  const startedAt = performance.now();
  const result = await what();
  return [result, Math.round(performance.now() - startedAt)];
}

test(`presence at ${USERS} online users on one gateway, below the socket layer: joins, heartbeats, a reconciliation, a resubscription and leaves`, async (t) => {
  const stack = await PresenceStack.start('gw-presence-scale');
  const reader = testRedis();
  try {
    const clients = new Map<number, Socket>();
    const [, joinMs] = await timed(async () => {
      for (let first = 1; first <= USERS; first += JOIN_BURST) {
        await Promise.all(Array.from({ length: JOIN_BURST }, (_, i) => {
          const socket = PresenceStack.client();
          clients.set(first + i, socket);
          return stack.sessions.add(first + i, socket, 0);
        }));
      }
    });
    assert.equal(await reader.scard(stack.presenceKey), USERS);
    const [, heartbeatMs] = await timed(() => stack.progress.heartbeat());

    // Redis restarted without its last writes: joins and leaves of that last second are lost.
    const lostJoins = Array.from({ length: 1000 }, (_, i) => 1 + i * 200);
    const lostLeaves = Array.from({ length: 500 }, (_, i) => USERS + 1 + i);
    await reader.multi().srem(stack.presenceKey, lostJoins).sadd(stack.presenceKey, lostLeaves).exec();
    await stack.dropCommandConnection();
    const [, reconcilingHeartbeatMs] = await timed(() => stack.progress.heartbeat());
    const members = await reader.smembers(stack.presenceKey);
    assert.equal(members.length, USERS);
    assert.ok(members.every((member) => clients.has(Number(member))), 'only connected users are in the set');
    await eventually(() => assert.equal(stack.onlineByMessages().size, USERS, 'the messages say every user is online'));
    assert.ok(lostLeaves.every((userId) => !stack.onlineByMessages().has(userId)), 'and no departed one');

    // The subscriber connection drops: every channel is subscribed again, a chunk per command.
    const back = new Promise((resolve) => stack.subscriber.once('ready', resolve));
    stack.subscriber.disconnect(true);
    await back;
    const [, resubscribeMs] = await timed(() => stack.sessions.resubscribe());
    for (const chunk of chunksOf(Array.from(clients.keys(), (userId) => stack.keys.userChannel(userId)))) {
      const counts = (await reader.call('PUBSUB', 'NUMSUB', ...chunk)) as (string | number)[];
      for (let i = 1; i < counts.length; i += 2) assert.equal(Number(counts[i]), 1, `${counts[i - 1]} is subscribed`);
    }

    const [, leaveMs] = await timed(() => Promise.all(Array.from(clients, ([userId, socket]) => stack.sessions.remove(userId, socket))));
    assert.equal(await reader.scard(stack.presenceKey), 0);
    await eventually(() => assert.equal(stack.onlineByMessages().size, 0, 'the messages say every user left'));
    t.diagnostic(
      `${USERS} users: joins ${joinMs} ms, a heartbeat ${heartbeatMs} ms, a heartbeat that reconciles ${reconcilingHeartbeatMs} ms, ` +
        `resubscribing ${resubscribeMs} ms, leaves ${leaveMs} ms`,
    );
  } finally {
    reader.disconnect();
    await stack.stop();
  }
});
