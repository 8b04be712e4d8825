import { Redis } from 'ioredis';
import { decodeGatewayEvent } from '@follower-maze/shared';

/**
 * The listening half of JoinLatencyProbe, as a process of its own: the bench's process
 * runs the verification's clients and is busy for hundreds of milliseconds while
 * thousands of them connect, so a join heard there would be timed that much late.
 *
 * argv: gateway-events channel; REDIS_URL: the Redis. Sends 'ready' once subscribed; answers
 * 'report' with the first time each user's join was heard (ms, `performance.timeOrigin +
 * performance.now()`: this machine's clock, as the bench reads it) and exits.
 */
export type HeardJoins = Map<number, number>;

const [channel] = process.argv.slice(2) as [string];
const redisUrl = process.env['REDIS_URL']!;
const heard: HeardJoins = new Map();
const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
subscriber.on('error', () => undefined);
subscriber.on('message', (_channel: string, message: string) => {
  const atMs = performance.timeOrigin + performance.now();
  const event = decodeGatewayEvent(message);
  if (event?.kind !== 'join') return;
  for (const userId of event.userIds) if (!heard.has(userId)) heard.set(userId, atMs);
});
await subscriber.subscribe(channel);
process.on('message', (request: { kind: string }) => {
  if (request.kind !== 'report') return;
  subscriber.disconnect();
  process.send!({ kind: 'report', heard }, () => process.exit(0));
});
process.send!({ kind: 'ready' });
