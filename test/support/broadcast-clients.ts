import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
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

/** User clients on given ports; resolves once the sequencer can route to all of them. */
export async function connectClients(redis: Redis, keyPrefix: string, placements: readonly [userId: number, port: number][]): Promise<TcpPeer[]> {
  const peers = await Promise.all(placements.map(async ([userId, port]) => {
    const peer = await TcpPeer.open(port);
    await peer.write(`${userId}\r\n`);
    return peer;
  }));
  // These very users, not a count: users of an earlier call are online too.
  await eventually(async () => {
    const online = new Set<string>();
    for (const key of await redis.keys(`${keyPrefix}:presence:*`)) for (const userId of await redis.smembers(key)) online.add(userId);
    const missing = placements.filter(([userId]) => !online.has(String(userId)));
    assert.equal(missing.length, 0, `${missing.length} of ${placements.length} clients not yet online`);
  });
  return peers;
}

/** Opens an event source connection, writes the lines, and closes it. */
export async function sendEvents(port: number, payloads: readonly string[], lineEnding = '\r\n'): Promise<void> {
  const source = await TcpPeer.open(port);
  await source.write(payloads.map((payload) => payload + lineEnding).join(''));
  await source.end();
}
