import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { decodeDelivery, decodeLoggedDeliveries, EVENT_LINES_FIELD, encodeGatewayEvent, keysFor, type Keys } from '@follower-maze/shared';
import { startSequencerService } from '../src/sequencer-service.ts';
import { defineCommitScript } from '../src/commit-script.ts';
import { Batch } from '../src/core/batch.ts';
import { partsOf, PUBLISHES_PER_PART } from '../src/core/publication.ts';
import { definePublishScript } from '../src/publish-script.ts';
import { FencedError } from '../src/fence.ts';
import { LeaderLease } from '../src/leader-lease.ts';
import { resetSequence } from '../src/reset-script.ts';
import { readStatus, requestOperation } from '../../../tools/ops/src/operations-client.ts';
import { deletePrefix, eventually, silentLogger, testConfig, testRedis, TEST_REDIS_URL, uniquePrefix } from '../../../test/support/redis-fixture.ts';

const redis = testRedis();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
after(() => redis.disconnect());

/**
 * Plays a gateway: holds users and records what is published on their channels, less
 * what repeats a delivery already taken (a new term publishes the last batch again), as
 * a gateway drops it by sequence number.
 */
async function fakeGateway(keys: Keys, gatewayId: string, users: number[]) {
  const subscriber = testRedis();
  const received = new Map<number, string[]>();
  const lastSeq = new Map<number, number>();
  subscriber.on('message', (channel: string, message: string) => {
    const userId = Number(channel.slice(channel.lastIndexOf(':') + 1));
    const last = decodeDelivery(Buffer.from(message))!.lastSeq;
    if (last <= (lastSeq.get(userId) ?? 0)) return;
    lastSeq.set(userId, last);
    received.set(userId, [...(received.get(userId) ?? []), message]);
  });
  if (users.length > 0) await subscriber.subscribe(...users.map((user) => keys.userChannel(user)));
  await redis.hset(keys.gateways, gatewayId, Date.now());
  if (users.length > 0) await redis.sadd(keys.presence(gatewayId), ...users);
  cleanups.push(async () => subscriber.disconnect());
  /** Notifications of a user, without the batch headers. */
  const notifications = (userId: number) =>
    (received.get(userId) ?? []).flatMap((message) => message.slice(message.indexOf('\n') + 1).split('\r\n').filter(Boolean));
  return { received, notifications };
}

async function start(prefix: string, env: NodeJS.ProcessEnv = {}) {
  const service = await startSequencerService(testConfig(prefix, env), silentLogger);
  cleanups.push(() => service.close());
  const term = await eventually(() => {
    assert.ok(service.active, 'the only sequencer becomes active');
    return service.active;
  });
  return { service, sequencer: term.sequencer, close: () => service.close(), trimJob: service.trimJob };
}

function append(stream: string, lines: string[]): Promise<string | null> {
  return redis.xadd(stream, '*', EVENT_LINES_FIELD, lines.join('\n'));
}

async function committedNextSeq(keys: Keys): Promise<number> {
  return Number(await redis.hget(keys.position, 'nextSeq'));
}

function withCleanup(name: string) {
  const prefix = uniquePrefix(name);
  cleanups.push(() => deletePrefix(redis as Redis, prefix));
  return { prefix, keys: keysFor(prefix) };
}

test('orders shuffled events, routes them to online users and commits graph and position together', async () => {
  const { prefix, keys } = withCleanup('seq-order');
  const gateway = await fakeGateway(keys, 'g1', [1, 2]);
  await start(prefix);
  await append(keys.events, ['3|S|9', '1|F|1|9', '2|F|2|9']);
  await append(keys.events, ['5|U|2|9', '4|P|9|2', '7|B', '6|S|9', '8|F|9|3']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 9));
  await eventually(() => {
    assert.deepEqual(gateway.notifications(1), ['3|S|9', '6|S|9', '7|B']);
    assert.deepEqual(gateway.notifications(2), ['3|S|9', '4|P|9|2', '7|B']);
  });
  assert.deepEqual((await redis.smembers(`${keys.followersPrefix(0)}9`)).sort(), ['1']);
  assert.deepEqual(await redis.smembers(`${keys.followersPrefix(0)}3`), ['9'], 'a follow of an offline user is kept');
  const pending = (await redis.xpending(keys.events, keys.sequencerGroup)) as [number, ...unknown[]];
  assert.equal(pending[0], 0, 'every entry is acknowledged');
});

test('resumes from the committed position: replays pending entries without repeating a notification', async () => {
  const { prefix, keys } = withCleanup('seq-resume');
  const gateway = await fakeGateway(keys, 'g1', [1]);
  const first = await start(prefix);
  // Event 3 is missing, so the second entry stays pending when the first sequencer stops.
  await append(keys.events, ['2|F|1|5', '1|B']);
  await append(keys.events, ['4|S|5', '5|B']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 3));
  await first.close();
  cleanups.splice(cleanups.indexOf(cleanups.at(-1)!), 1);

  const second = await start(prefix);
  await append(keys.events, ['3|S|5']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 6));
  await eventually(() => assert.deepEqual(gateway.notifications(1), ['1|B', '3|S|5', '4|S|5', '5|B']));
  assert.equal(second.sequencer.counters.get('duplicateEvents'), 0);
});

test('rejects duplicates and events beyond the reorder window, counted and kept for operators', async () => {
  const { prefix, keys } = withCleanup('seq-reject');
  const gateway = await fakeGateway(keys, 'g1', [1]);
  const service = await start(prefix, { SEQUENCER_REORDER_WINDOW: '10' });
  await append(keys.events, ['1|B', '3|B', '3|B', '50|B']);
  await append(keys.events, ['2|B', '1|B']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 4));
  await eventually(() => assert.deepEqual(gateway.notifications(1), ['1|B', '2|B', '3|B']));
  assert.equal(service.sequencer.counters.get('duplicateEvents'), 2);
  assert.equal(service.sequencer.counters.get('beyondWindowEvents'), 1);
  await eventually(async () => {
    const inputs = (await redis.lrange(keys.rejected, 0, -1)).map((entry) => (JSON.parse(entry) as { input: string }).input);
    assert.deepEqual(inputs.sort(), ['1|B', '3|B', '50|B']);
  });
});

test('routes to a user from the moment a gateway announces it', async () => {
  const { prefix, keys } = withCleanup('seq-presence');
  const gateway = await fakeGateway(keys, 'g1', []);
  await start(prefix);
  await append(keys.events, ['1|B']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 2));
  const subscriber = testRedis();
  cleanups.push(async () => subscriber.disconnect());
  await subscriber.subscribe(keys.userChannel(4));
  const late = new Promise<string>((resolve) => subscriber.on('message', (_channel: string, message: string) => resolve(message)));
  await redis.publish(keys.gatewayEvents, encodeGatewayEvent({ kind: 'join', gatewayId: 'g1', userIds: [4] }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  await append(keys.events, ['2|B']);
  assert.equal(await late, '0 2 2\n2|B\r\n');
  assert.equal(gateway.received.size, 0);
});

test('trims the stream behind the committed position', async () => {
  const { prefix, keys } = withCleanup('seq-trim');
  const service = await start(prefix);
  for (let seq = 1; seq <= 50; seq++) await append(keys.events, [`${seq}|B`]);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 51));
  await service.trimJob.trim();
  assert.ok((await redis.xlen(keys.events)) <= 1, 'only the last acknowledged entry may remain');
  assert.equal(await redis.xlen(keys.deliveries), 0, 'with no gateway to catch up, the delivery log keeps nothing');
});

test('two sequencers ask for a trim every interval, by their own timers: one job at a time trims', async () => {
  const { prefix, keys } = withCleanup('seq-trim-job');
  const env = { SEQUENCER_TRIM_INTERVAL_MS: '100' };
  await start(prefix, env);
  const standby = await startSequencerService(testConfig(prefix, env), silentLogger);
  cleanups.push(() => standby.close());
  for (let seq = 1; seq <= 20; seq++) await append(keys.events, [`${seq}|B`]);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 21));
  await eventually(async () => assert.ok((await redis.xlen(keys.events)) <= 1, 'trimmed without being asked'), 5000, 50);
  const schedulers = await redis.keys(`${keys.jobsPrefix}:maintenance:repeat*`);
  assert.deepEqual(schedulers, [], 'no job scheduler, whose runs would be dated by one host\'s clock');
});

test('a commit from a stale position or a lapsed lease is refused', async () => {
  const { keys } = withCleanup('seq-fence');
  const lease = new LeaderLease(redis, keys.sequencerLease, 200);
  assert.equal(await lease.acquire(), true);
  const committer = defineCommitScript(redis, keys, { token: lease.token, epoch: 0, term: 1 });
  const batch = new Batch();
  batch.events = 1;
  batch.deliver(1, '1|B');
  const request = { batch, startNextSeq: 1, nextSeq: 2, previousBatchSeq: 0, ackIds: [], trimId: '0-0', deliveryLogMinSeq: 1 };
  const heard = await listen([keys.userChannel(1), keys.batchEnd]);
  assert.equal((await committer.commit(request)).published, true, 'a batch of one part is published by its commit');
  await eventually(() => assert.deepEqual(heard.map(([channel]) => channel), [keys.userChannel(1), keys.batchEnd]));
  await committer.commit(request);
  assert.equal(await redis.hget(keys.position, 'nextSeq'), '2', 'a resent commit changes nothing');
  await assert.rejects(committer.commit({ ...request, startNextSeq: 5, nextSeq: 7 }), FencedError);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(await lease.renew(), false, 'a lapsed lease is not taken back by renewing');
  await assert.rejects(committer.commit({ ...request, startNextSeq: 2, nextSeq: 3 }), FencedError);
});

/** Every message published on the given channels, in the order they arrived. */
async function listen(channels: string[]): Promise<[channel: string, message: string][]> {
  const subscriber = testRedis();
  cleanups.push(async () => subscriber.disconnect());
  const heard: [string, string][] = [];
  subscriber.on('message', (channel: string, message: string) => heard.push([channel, message]));
  await subscriber.subscribe(...channels);
  return heard;
}

test('a new term publishes the last committed batch again: one committed but never published still reaches the gateways', async () => {
  const { prefix, keys } = withCleanup('seq-republish');
  const gateway = await fakeGateway(keys, 'g1', [1, 2]);
  const markers = await listen([keys.batchEnd]);
  const lease = new LeaderLease(redis, keys.sequencerLease, 10_000);
  assert.equal(await lease.acquire(), true);
  const batch = new Batch();
  batch.events = 2;
  // More recipients than one part: the commit leaves publishing to the parts that follow it.
  for (let user = 1; user <= PUBLISHES_PER_PART + 1; user++) batch.deliver(user, '1|B');
  batch.deliver(2, '2|P|1|2');
  // The sequencer that committed this stopped before publishing it.
  const { published } = await defineCommitScript(redis, keys, { token: lease.token, epoch: 0, term: 1 })
    .commit({ batch, startNextSeq: 1, nextSeq: 3, previousBatchSeq: 0, ackIds: [], trimId: '0-0', deliveryLogMinSeq: 1 });
  assert.equal(published, false);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(gateway.notifications(1), [], 'nothing published by the commit');
  await lease.release();
  await start(prefix);
  await eventually(() => {
    assert.deepEqual(gateway.notifications(1), ['1|B']);
    assert.deepEqual(gateway.notifications(2), ['1|B', '2|P|1|2']);
    assert.deepEqual(markers.map(([, marker]) => marker), ['0 1 0 2']);
  });
  await append(keys.events, ['3|B']);
  await eventually(() => assert.deepEqual(gateway.notifications(1), ['1|B', '3|B']));
});

test('one commit carries 200,000 recipients, 200,000 follow changes and 5,000 acknowledgements (no argument list grows with them)', async () => {
  const { keys } = withCleanup('seq-big-commit');
  const lease = new LeaderLease(redis, keys.sequencerLease, 10_000);
  assert.equal(await lease.acquire(), true);
  const committer = defineCommitScript(redis, keys, { token: lease.token, epoch: 0, term: 1 });
  const users = 200_000;
  const batch = new Batch();
  batch.events = 2;
  for (let user = 1; user <= users; user++) {
    batch.deliver(user, '1|B');
    batch.changeEdge(user, user % 2 === 0 ? 1 : 2, true);
  }
  batch.changeEdge(4, 1, false);
  await redis.sadd(`${keys.followersPrefix(0)}1`, 999_999);
  batch.changeEdge(999_999, 1, false);
  const ids: string[] = [];
  for (let entry = 0; entry < 5000; entry++) ids.push((await append(keys.events, [`${entry}|B`]))!);
  await redis.xgroup('CREATE', keys.events, keys.sequencerGroup, '0');
  await redis.xreadgroup('GROUP', keys.sequencerGroup, 'sequencer', 'COUNT', 5000, 'STREAMS', keys.events, '>');
  const { bytesByUser, publication, published } = await committer.commit({ batch, startNextSeq: 1, nextSeq: 3, previousBatchSeq: 0, ackIds: ids, trimId: '0-0', deliveryLogMinSeq: 1 });
  assert.equal(bytesByUser.size, users);
  assert.equal(partsOf(publication.deliveries).length, users / PUBLISHES_PER_PART, 'published in parts of bounded size');
  assert.equal(published, false, 'not by the commit');
  assert.equal(await redis.hget(keys.position, 'nextSeq'), '3');
  assert.equal(await redis.scard(`${keys.followersPrefix(0)}1`), users / 2 - 1, 'every follow of user 1, less the one undone within the batch and the one removed');
  assert.equal(await redis.sismember(`${keys.followersPrefix(0)}1`, 999_999), 0);
  assert.equal(await redis.scard(`${keys.followersPrefix(0)}2`), users / 2);
  assert.equal(((await redis.xpending(keys.events, keys.sequencerGroup)) as [number])[0], 0, 'every entry acknowledged');
  const [[, fields]] = (await redis.xrangeBuffer(keys.deliveries, '-', '+')) as [[Buffer, Buffer[]]];
  assert.equal([...decodeLoggedDeliveries(fields[3]!)].length, users, 'the delivery log holds every recipient');
  const heard = await listen([keys.userChannel(1), keys.userChannel(users), keys.batchEnd]);
  const publisher = definePublishScript(redis, keys, { token: lease.token, epoch: 0 });
  await publisher.publish(publication);
  await eventually(() => assert.deepEqual(heard.map(([channel]) => channel), [keys.userChannel(1), keys.userChannel(users), keys.batchEnd]));
  assert.deepEqual(await publisher.logged(2), publication, 'the delivery log gives back the same deliveries');
});

test('a reset starts an empty graph at once and deletes 200,000 follower sets of the old epoch in chunks', async () => {
  const { keys } = withCleanup('seq-big-reset');
  const lease = new LeaderLease(redis, keys.sequencerLease, 10_000);
  assert.equal(await lease.acquire(), true);
  await redis.xgroup('CREATE', keys.events, keys.sequencerGroup, '0', 'MKSTREAM');
  const sets = 200_000;
  for (let from = 0; from < sets; from += 10_000) {
    const pipeline = redis.pipeline();
    for (let user = from; user < from + 10_000; user++) pipeline.sadd(`${keys.followersPrefix(0)}${user}`, 1);
    await pipeline.exec();
  }
  const result = await resetSequence(redis, keys, lease.token, 0);
  assert.deepEqual(result, { epoch: 1, followerSets: sets });
  let left = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.followersPrefix(0)}*`, 'COUNT', 10_000);
    cursor = next;
    left += found.length;
  } while (cursor !== '0');
  assert.equal(left, 0, 'no set of the old epoch is left');
  await assert.rejects(resetSequence(redis, keys, lease.token, 0), /STALE/, 'a repeated reset of the old epoch is refused');
});

test('waiting at a missing event is shown by ops status while it lasts; ops skip-gap releases what follows, recorded', async () => {
  const { prefix, keys } = withCleanup('seq-skip-gap');
  const gateway = await fakeGateway(keys, 'g1', [1]);
  const { sequencer } = await start(prefix);
  await append(keys.events, ['1|B', '2|B', '5|B', '6|P|2|1']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 3));
  const status = await eventually(async () => {
    const shown = await readStatus({ redisUrl: TEST_REDIS_URL }, prefix);
    assert.equal((shown['waiting'] as string[]).length, 1, 'ops status shows one wait');
    return shown;
  }, 5000, 100);
  assert.match((status['waiting'] as string[])[0]!, /^sequencer-.+: waiting for event 3 \(2 later events held\) since \S+ \(\d+ s\)$/);
  const result = (await requestOperation({ redisUrl: TEST_REDIS_URL }, prefix, 'skip-gap', 10_000)) as { skipped: unknown; nextSeq: number };
  assert.deepEqual(result.skipped, { from: 3, to: 4, reason: 'operator' });
  assert.equal(await committedNextSeq(keys), 7);
  await eventually(() => assert.deepEqual(gateway.notifications(1), ['1|B', '2|B', '5|B', '6|P|2|1']));
  const kept = JSON.parse((await redis.lindex(keys.skipped, 0))!) as Record<string, unknown>;
  assert.deepEqual({ from: kept['from'], to: kept['to'], reason: kept['reason'] }, { from: 3, to: 4, reason: 'operator' });
  assert.equal(sequencer.counters.get('skippedEvents'), 2);
  await append(keys.events, ['4|B', '7|B']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 8));
  assert.equal(sequencer.counters.get('duplicateEvents'), 1, 'a skipped event that arrives late is dropped');
  assert.equal(await sequencer.skipGap(), undefined, 'no gap: nothing skipped');
  await eventually(async () => assert.deepEqual((await readStatus({ redisUrl: TEST_REDIS_URL }, prefix))['waiting'], [], 'nothing waited for'), 5000, 100);
});

test('with SEQUENCER_GAP_TIMEOUT_MS the sequencer skips a gap by itself once it has lasted that long', async () => {
  const { prefix, keys } = withCleanup('seq-gap-timeout');
  await fakeGateway(keys, 'g1', [1]);
  const { sequencer } = await start(prefix, { SEQUENCER_GAP_TIMEOUT_MS: '1500' });
  await append(keys.events, ['1|B', '3|B']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 2));
  const waitingSince = Date.now();
  await eventually(async () => assert.equal(await committedNextSeq(keys), 4), 5000);
  const waitedMs = Date.now() - waitingSince;
  assert.ok(waitedMs >= 1000, `waited about the timeout first (${waitedMs} ms)`);
  assert.equal(sequencer.counters.get('skippedEvents'), 1);
  const kept = JSON.parse((await redis.lindex(keys.skipped, 0))!) as Record<string, unknown>;
  assert.equal(kept['reason'], 'gap timeout');
});
