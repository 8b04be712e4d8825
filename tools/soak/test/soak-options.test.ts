import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_NAMES } from '../src/faults.ts';
import { soakOptionsFromEnv } from '../src/soak-options.ts';

test('defaults: every fault 10 times, 300,000 events at 50,000/s to the checker\'s 100 clients and 1,000 users over 2 gateways', () => {
  const options = soakOptionsFromEnv({ SOAK_SEED: '7' });
  assert.deepEqual(options, {
    faults: FAULT_NAMES, runsPerFault: 10, seed: 7,
    load: { events: 300_000, eventsPerSecond: 50_000, clients: 100, users: 1000, crowd: 0, gateways: 2, maxClientsPerGateway: 15_000 },
  });
});

test('at scale: full speed, ten times as many users as clients unless told, a crowd, the gateways\' limit raised to their share', () => {
  const { load } = soakOptionsFromEnv({
    SOAK_EVENTS_PER_SECOND: '0', SOAK_CLIENTS: '10000', SOAK_CROWD: '60000', SOAK_GATEWAYS: '4', SOAK_EVENTS: '1000000',
  }, 20_000);
  assert.deepEqual(load, {
    events: 1_000_000, eventsPerSecond: undefined, clients: 10_000, users: 100_000, crowd: 60_000, gateways: 4, maxClientsPerGateway: 17_501,
  });
  assert.equal(soakOptionsFromEnv({ SOAK_CLIENTS: '10000', SOAK_USERS: '300000' }).load.users, 300_000);
});

test('a bad value names the variable and a valid example', () => {
  assert.throws(() => soakOptionsFromEnv({ SOAK_CLIENTS: '0' }), /SOAK_CLIENTS=0: expected at least 1, e\.g\. SOAK_CLIENTS=100/);
  assert.throws(() => soakOptionsFromEnv({ SOAK_CLIENTS: '500', SOAK_USERS: '400' }), /SOAK_USERS=400: expected at least SOAK_CLIENTS \(500\), e\.g\. SOAK_USERS=5000/);
  assert.throws(() => soakOptionsFromEnv({ SOAK_CROWD: '-1' }), /SOAK_CROWD/);
  assert.throws(() => soakOptionsFromEnv({ SOAK_EVENTS_PER_SECOND: 'fast' }), /SOAK_EVENTS_PER_SECOND/);
  assert.throws(() => soakOptionsFromEnv({ SOAK_FAULTS: 'redis-restart,meteor' }), /SOAK_FAULTS="redis-restart,meteor": expected distinct names/);
  assert.throws(
    () => soakOptionsFromEnv({ SOAK_CROWD: '100000', SOAK_GATEWAYS: '4' }, 20_000),
    /on one, and a process may hold 20000 descriptors .* use at least 6 gateways, e\.g\. SOAK_GATEWAYS=6/,
  );
});
