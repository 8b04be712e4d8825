import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { keySlot } from '@follower-maze/shared';
import type { RedisClusterNode } from '../../tools/stack/src/redis-cluster.ts';
import { CLUSTER_FAILOVER_ENV } from '../../tools/soak/src/faults.ts';
import { StackFixture, sleep } from '../support/stack-fixture.ts';

/**
 * The product on a real Redis Cluster that the test starts from the redis-server binary:
 * the standard verification passes on three masters, with the deliveries spread over all
 * three; and with a replica per master, it passes while a master is killed mid-run and
 * its replica takes over.
 */
let fixture: StackFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

/** Long enough for a failover (about 4 to 5 s with a 2 s node timeout) to land mid-run. */
const FAILOVER_RUN = { totalEvents: 300_000, maxEventsPerSecond: 30_000, timeoutMs: 60_000 } as const;

test('three masters: the standard verification passes, and every master carries deliveries', async (t) => {
  fixture = await StackFixture.start({ redisCluster: { masters: 3 } });
  const masters = await fixture.redisCluster!.masters();
  await Promise.all(masters.map((node) => node.command('CONFIG', 'RESETSTAT')));
  const report = await fixture.verify({ totalEvents: 200_000 });
  assert.deepEqual(report.failures, []);
  assert.equal(report.ok, true);
  const published = await Promise.all(masters.map((node) => commandCalls(node, 'spublish')));
  t.diagnostic(`SPUBLISH calls per master (those inside scripts included): ${published.join(', ')}`);
  const total = published.reduce((sum, calls) => sum + calls, 0);
  for (const [index, calls] of published.entries()) {
    assert.ok(calls > total / 6, `master ${index + 1} published ${calls} of ${total} deliveries and markers`);
  }
});

for (const [which, pick] of [
  ['the master of the sequencer\'s slot (the stream, the position, the graph)', (slotOwner: number) => slotOwner],
  ['a master that carries only user channels', (slotOwner: number) => (slotOwner + 1) % 3],
] as const) {
  test(`three masters with a replica each: ${which} is killed mid-run, its replica takes over, and the run passes`, async (t) => {
    // The ingest waits for replicas, and gateways outlast a failover: see the README's *Redis Cluster*.
    fixture = await StackFixture.start({ redisCluster: { masters: 3, replicasPerMaster: 1 }, env: CLUSTER_FAILOVER_ENV });
    const cluster = fixture.redisCluster!;
    const masters = await cluster.masters();
    const slotOwner = masters.indexOf(await cluster.masterOfSlot(keySlot(fixture.keyPrefix)));
    assert.ok(slotOwner >= 0, 'a master serves the prefix\'s slot');
    const victim = masters[pick(slotOwner)]!;
    const run = fixture.verify(FAILOVER_RUN);
    while (Number((await fixture.redis.hget(fixture.keys.position, 'nextSeq')) ?? 1) <= 30_000) await sleep(50);
    const killedAt = Date.now();
    await victim.kill();
    await cluster.waitForState(true, 20_000);
    t.diagnostic(`master on port ${victim.port} killed; the cluster was ok again ${Date.now() - killedAt} ms later`);
    const report = await run;
    assert.deepEqual(report.failures, []);
    assert.equal(report.ok, true);
    assert.ok(!(await cluster.masters()).includes(victim), 'a replica took the killed master\'s place');
  });
}

async function commandCalls(node: RedisClusterNode, command: string): Promise<number> {
  const info = String(await node.command('INFO', 'commandstats'));
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
}
