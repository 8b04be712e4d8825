import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import type { Keys, RedisClient as Redis } from '@follower-maze/shared';
import type { SupervisedProcess } from './supervised-process.ts';

// What tests and the soak ask of a running stack, whatever hosts its processes run on.

/** The sequencer process that holds the lease (its token carries its pid). */
export async function leaseHolder(
  redis: Redis, keys: Keys, processes: ReadonlyMap<string, SupervisedProcess>,
): Promise<SupervisedProcess | undefined> {
  const token = await redis.get(keys.sequencerLease);
  const pid = Number(token?.split('-').at(-2));
  return [...processes.values()].find((process) => process.spec.name.startsWith('sequencer') && process.pid === pid);
}

/** Waits until a live sequencer other than the given ones holds the lease. */
export async function nextLeaseHolder(
  redis: Redis, keys: Keys, processes: ReadonlyMap<string, SupervisedProcess>, excludingPids: readonly number[], timeoutMs: number,
): Promise<SupervisedProcess> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const active = await leaseHolder(redis, keys, processes);
    if (active?.pid && !excludingPids.includes(active.pid)) return active;
    await sleep(20);
  }
  throw new Error(`no sequencer took the lease within ${timeoutMs} ms`);
}

/** Each live gateway's presence set size, by gateway id (a gateway announces a join with its SADD). */
export async function presenceByGateway(redis: Redis, keys: Keys): Promise<Map<string, number>> {
  const ids = await redis.hkeys(keys.gateways);
  const counts = await Promise.all(ids.map((id) => redis.scard(keys.presence(id))));
  return new Map(ids.map((id, index) => [id, counts[index]!]));
}

/** Users routable now: the members of every live gateway's presence set. */
export async function routableCount(redis: Redis, keys: Keys): Promise<number> {
  let routable = 0;
  for (const count of (await presenceByGateway(redis, keys)).values()) routable += count;
  return routable;
}

/** Waits until at least `users` are routable. */
export async function waitUntilRoutable(redis: Redis, keys: Keys, users: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let routable = 0;
  while ((routable = await routableCount(redis, keys)) < users) {
    if (Date.now() >= deadline) throw new Error(`${routable} of ${users} users routable after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** The JSON lines of a services' log file, parsed. */
export function logLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
