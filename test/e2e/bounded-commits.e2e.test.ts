import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { keysFor } from '@follower-maze/shared';
import { StackFixture } from '../support/stack-fixture.ts';
import { broadcasts, connectClients, sendEvents, wire } from '../support/broadcast-clients.ts';
import { eventually } from '../support/redis-fixture.ts';

/**
 * A gap at the start holds back a full reorder window of broadcasts; when it closes,
 * 10,000,000 notifications are released at once. They must go out as many bounded
 * commits: every client gets everything in order, and the active sequencer, whose event
 * loop never blocks long, keeps its lease throughout.
 */
let fixture: StackFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

test('a full window of broadcasts released at once to 100 clients: all delivered in order, no change of lease', async () => {
  fixture = await StackFixture.start();
  const keys = keysFor(fixture.keyPrefix);
  const window = 100_000;
  const placements = Array.from({ length: 100 }, (_, i) => [i + 1, fixture!.gatewayPorts[i % 2]!] as [number, number]);
  const clients = await connectClients(fixture.redis, fixture.keyPrefix, placements);
  await sendEvents(fixture.eventPort, broadcasts(2, window));
  await eventually(async () => {
    const [pending] = (await fixture!.redis.xpending(keys.events, keys.sequencerGroup)) as [number];
    assert.ok(pending > 0 && (await fixture!.redis.xlen(keys.events)) === pending, 'every entry read and held behind the gap');
  }, 20_000, 50);
  const lease = await fixture.redis.get(keys.sequencerLease);
  const term = await fixture.redis.hget(keys.position, 'term');
  assert.equal((await fixture.redis.hget(keys.position, 'nextSeq')) ?? '1', '1', 'nothing released before the gap closes');

  await sendEvents(fixture.eventPort, ['1|B']);
  const expected = wire(broadcasts(1, window));
  await eventually(() => {
    for (const client of clients) assert.equal(client.received.length, expected.length, 'every notification arrived');
  }, 60_000, 200);
  for (const client of clients) assert.equal(client.received, expected, 'in order, none doubled');
  assert.equal(await fixture.redis.get(keys.sequencerLease), lease, 'the same lease throughout');
  assert.equal(await fixture.redis.hget(keys.position, 'term'), term, 'no new term');
  const commits = fixture.logs().filter((line) => line['msg'] === 'refused by the fence: stepping down' || line['msg'] === 'lease lost: stepping down');
  assert.deepEqual(commits, [], 'no sequencer stepped down');
});
