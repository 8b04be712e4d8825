import assert from 'node:assert/strict';
import { decodeGatewayEvent, duplicateClient, keysFor, type RedisClient as Redis } from '@follower-maze/shared';
import { TcpPeer } from './tcp-peer.ts';
import { eventually } from './redis-fixture.ts';

/** Events `from..to` as broadcasts, which every connected client must receive. */
export function broadcasts(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${from + i}|B`);
}

/** Notifications as a client receives them. */
export function wire(payloads: readonly string[]): string {
  return payloads.map((payload) => `${payload}\r\n`).join('');
}

/**
 * User clients on given ports; resolves once the sequencer can route to all of them: a
 * join naming each user has been published since they connected. (A presence set is not
 * proof: one left by a killed gateway still names its users until it is forgotten.)
 */
export async function connectClients(redis: Redis, keyPrefix: string, placements: readonly [userId: number, port: number][]): Promise<TcpPeer[]> {
  const listener = duplicateClient(redis);
  const announced = new Set<number>();
  listener.on('message', (_channel: string, message: string) => {
    const event = decodeGatewayEvent(message);
    if (event?.kind === 'join') for (const userId of event.userIds) announced.add(userId);
  });
  try {
    await listener.subscribe(keysFor(keyPrefix).gatewayEvents);
    const peers = await Promise.all(placements.map(async ([userId, port]) => {
      const peer = await TcpPeer.open(port);
      await peer.write(`${userId}\r\n`);
      return peer;
    }));
    await eventually(() => {
      const missing = placements.filter(([userId]) => !announced.has(userId));
      assert.equal(missing.length, 0, `${missing.length} of ${placements.length} clients not yet announced online`);
    });
    return peers;
  } finally {
    listener.disconnect();
  }
}

/** Opens an event source connection, writes the lines, and closes it. */
export async function sendEvents(port: number, payloads: readonly string[], lineEnding = '\r\n'): Promise<void> {
  const source = await TcpPeer.open(port);
  await source.write(payloads.map((payload) => payload + lineEnding).join(''));
  await source.end();
}
