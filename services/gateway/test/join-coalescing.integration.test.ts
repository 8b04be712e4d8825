import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGatewayEvent } from '@follower-maze/shared';
import { eventually, testRedis } from '../../../test/support/redis-fixture.ts';
import { PresenceStack } from './support/presence-stack.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const reader = testRedis();
const stacks: PresenceStack[] = [];
afterEach(async () => {
  for (const stack of stacks.splice(0)) await stack.stop();
});
after(() => reader.disconnect());

async function start(name: string): Promise<PresenceStack> {
  const stack = await PresenceStack.start(name);
  stacks.push(stack);
  return stack;
}

/** How many of the users' channels are subscribed, by user. */
async function subscriptions(stack: PresenceStack, userIds: number[]): Promise<Map<number, number>> {
  const counts = (await reader.call('PUBSUB', 'NUMSUB', ...userIds.map((userId) => stack.keys.userChannel(userId)))) as unknown[];
  return new Map(userIds.map((userId, i) => [userId, Number(counts[2 * i + 1])]));
}

test('2,500 users joining in one turn: a SUBSCRIBE and a join message per 1,000, each message published once its users are subscribed', async (t) => {
  const stack = await start('gw-join-coalescing');
  const subscribe = t.mock.method(stack.subscriber, 'subscribe');
  // Checked as each join message arrives: its users' channels must already be subscribed.
  const checks: Promise<Map<number, number>>[] = [];
  const listener = testRedis();
  t.after(() => listener.disconnect());
  listener.on('message', (_channel: string, message: string) => {
    const event = decodeGatewayEvent(message);
    if (event?.kind === 'join') checks.push(subscriptions(stack, [...event.userIds]));
  });
  await listener.subscribe(stack.keys.gatewayEvents);

  const users = Array.from({ length: 2500 }, (_, i) => i + 1);
  await Promise.all(users.map((userId) => stack.sessions.add(userId, PresenceStack.client(), 0)));

  assert.deepEqual(subscribe.mock.calls.map((call) => call.arguments.length), [1000, 1000, 500], 'one SUBSCRIBE per 1,000 channels');
  await eventually(() => assert.equal(checks.length, 3, 'one join message per 1,000 users'));
  const joined = await Promise.all(checks);
  assert.deepEqual(joined.map((counts) => counts.size), [1000, 1000, 500]);
  for (const counts of joined) assert.ok([...counts.values()].every((count) => count === 1), 'announced only once subscribed');
  assert.equal(await reader.scard(stack.presenceKey), 2500);
});

test('a user who leaves while the join is pending and comes back is online; one who leaves again is offline and unsubscribed', async () => {
  const stack = await start('gw-join-leave-pending');
  const [first, second, third, fourth] = [PresenceStack.client(), PresenceStack.client(), PresenceStack.client(), PresenceStack.client()];
  const settling: Promise<unknown>[] = [];
  // User 1: leaves and comes back within the turn of its join.
  settling.push(stack.sessions.add(1, first, 0), stack.sessions.remove(1, first), stack.sessions.add(1, second, 0));
  // User 2: the same, then leaves again, all in one turn.
  settling.push(stack.sessions.add(2, first, 0), stack.sessions.remove(2, first), stack.sessions.add(2, second, 0), stack.sessions.remove(2, second));
  // User 3: leaves once its subscription is on its way, and comes back a turn later.
  settling.push(stack.sessions.add(3, third, 0));
  await nextTurn();
  settling.push(stack.sessions.remove(3, third));
  await nextTurn();
  settling.push(stack.sessions.add(3, fourth, 0));
  await Promise.all(settling);

  const online = new Set([1, 3]);
  assert.deepEqual(new Set((await reader.smembers(stack.presenceKey)).map(Number)), online, 'the set');
  await eventually(() => assert.deepEqual(stack.onlineByMessages(), online, 'the messages'));
  assert.deepEqual(await subscriptions(stack, [1, 2, 3]), new Map([[1, 1], [2, 0], [3, 1]]), 'the subscriptions');
  assert.equal(stack.sessions.userCount, 2);
});
