import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { keysFor, redisTlsOptions, type RedisTarget } from '@follower-maze/shared';

const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 50;

export interface ReadinessTarget extends RedisTarget {
  readonly keyPrefix: string;
  readonly eventPort: number;
  /** Host of the ingest port. Default 127.0.0.1. */
  readonly eventHost?: string;
  /** Gateway processes that must have announced themselves. */
  readonly gateways: number;
}

/**
 * Resolves once the stack can take a verification run: the ingest port accepts, every
 * gateway has sent its first heartbeat, and the sequencer listens for presence (so a
 * client's id line reaches it). Rejects, naming what is missing, after a timeout.
 */
export async function waitUntilReady(target: ReadinessTarget): Promise<void> {
  const keys = keysFor(target.keyPrefix);
  const redis = new Redis(target.redisUrl, { maxRetriesPerRequest: 1, ...redisTlsOptions(target) });
  redis.on('error', () => undefined);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let missing = '';
  try {
    while (Date.now() < deadline) {
      const [gateways, subscribers] = await Promise.all([
        redis.hlen(keys.gateways),
        redis.pubsub('NUMSUB', keys.gatewayEvents) as Promise<[string, number]>,
      ]);
      const ingestUp = await portAccepts(target.eventHost ?? '127.0.0.1', target.eventPort);
      missing = [
        !ingestUp && 'ingest port',
        gateways < target.gateways && `${target.gateways - gateways} gateway(s)`,
        Number(subscribers[1]) < 1 && 'sequencer',
      ].filter(Boolean).join(', ');
      if (!missing) return;
      await delay(POLL_MS);
    }
    throw new Error(`stack not ready after ${READY_TIMEOUT_MS} ms: waiting for ${missing}`);
  } finally {
    redis.disconnect();
  }
}

function portAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
