import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keySlot } from '../src/cluster-slots.ts';
import { keysFor } from '../src/keys.ts';

test('one Redis: the names are the prefix and a suffix, as before clusters', () => {
  const keys = keysFor('fm');
  assert.equal(keys.cluster, false);
  assert.equal(keys.events, 'fm:events');
  assert.equal(keys.userChannel(42), 'fm:user:42');
  assert.equal(keysFor('{fm}').events, '{fm}:events');
});

test('a Redis Cluster: every key in the prefix\'s slot, user channels spread over the slots', () => {
  for (const prefix of ['fm', '{fm}']) {
    const keys = keysFor(prefix, true);
    const slot = keySlot('fm');
    const named = [
      keys.events, keys.position, keys.sequencerLease, keys.deliveries, `${keys.followersPrefix(3)}42`, keys.gateways,
      keys.presence('g-1'), keys.gatewayLoad('g-1'), keys.rejected, `${keys.jobsPrefix}:maintenance:id`, keys.waits('p'),
      keys.waitingProcesses, keys.skipped,
    ];
    assert.deepEqual(named.filter((key) => keySlot(key) !== slot), [], `keys outside {fm}'s slot with prefix ${prefix}`);
    assert.equal(keys.userChannel(42), 'fm:user:42');
    const slots = new Set(Array.from({ length: 1000 }, (_, i) => keySlot(keys.userChannel(i + 1))));
    assert.ok(slots.size > 900, `1,000 user channels on ${slots.size} slots`);
    for (const target of [0, 5461, 16383]) assert.equal(keySlot(keys.batchEndOnSlot(target)), target);
  }
});
