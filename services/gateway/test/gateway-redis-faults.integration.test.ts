import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { decodeGatewayEvent, encodeDelivery, keysFor } from '@follower-maze/shared';
import { startGatewayService } from '../src/gateway-service.ts';
import { deletePrefix, eventually, silentLogger, testConfig, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { PrivateRedis } from '../../../test/support/private-redis.ts';
import { TcpPeer } from '../../../test/support/tcp-peer.ts';

/**
 * A gateway against a Redis of its own that refuses writes while a client joins: the
 * client is kept, and is routable once Redis takes writes again.
 */
let server: PrivateRedis;
let redis: Redis;

before(async () => {
  server = await PrivateRedis.start('gateway-faults');
  redis = server.redis;
});
after(() => server.stop());

test('a client that joins while Redis refuses writes (OOM) is kept, and announced and served once writes are taken again', { timeout: 30_000 }, async () => {
  const prefix = uniquePrefix('gw-join-refused');
  const keys = keysFor(prefix);
  const joins: number[] = [];
  const listener = new Redis(server.url);
  listener.on('message', (_channel: string, message: string) => {
    const event = decodeGatewayEvent(message);
    if (event?.kind === 'join') joins.push(...event.userIds);
  });
  await listener.subscribe(keys.gatewayEvents);
  const service = await startGatewayService(
    testConfig(prefix, { REDIS_URL: server.url, GATEWAY_HEARTBEAT_INTERVAL_MS: '100' }), silentLogger,
  );
  try {
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    const peer = await TcpPeer.open(service.port);
    await peer.write('77\r\n');
    await eventually(() => assert.equal(service.gateway.counters.get('clientsConnected'), 1, 'the id line was read'));
    // Several heartbeats, each of which tries to reconcile the presence set and is refused.
    await sleep(500);
    assert.equal(peer.closed, false, 'the client is kept while its join waits');
    assert.deepEqual(joins, [], 'no join is announced while Redis refuses the presence write');
    assert.equal(await redis.sismember(keys.presence(service.gateway.gatewayId), '77'), 0);

    await redis.config('SET', 'maxmemory', '0');
    await eventually(() => assert.deepEqual(joins, [77], 'the join is announced once, by the reconciliation'));
    assert.equal(await redis.sismember(keys.presence(service.gateway.gatewayId), '77'), 1);
    await redis.publish(keys.userChannel(77), encodeDelivery(0, ['5|B']));
    await eventually(() => assert.equal(peer.received, '5|B\r\n', 'the client is served'));
    assert.equal(peer.closed, false);
    peer.destroy();
  } finally {
    await redis.config('SET', 'maxmemory', '0');
    await service.close();
    listener.disconnect();
    await deletePrefix(redis, prefix);
  }
});
