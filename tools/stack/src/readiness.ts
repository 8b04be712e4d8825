import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import { checkDetail, keysFor, probeReadiness, type RedisTarget } from '@follower-maze/shared';
import { everyNode, toolConnection } from './tool-connection.ts';

const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 50;
/** How often `npm start` asks every process's /readyz until all are ready. */
const SERVICES_POLL_MS = 200;
const PROBE_TIMEOUT_MS = 2000;

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
  const keys = keysFor(target.keyPrefix, target.redisClusterNodes !== undefined);
  const redis = toolConnection(target, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let missing = '';
  try {
    while (Date.now() < deadline) {
      const [gateways, subscribers] = await Promise.all([redis.hlen(keys.gateways), subscribersOf(everyNode(redis), keys.gatewayEvents)]);
      const ingestUp = await portAccepts(target.eventHost ?? '127.0.0.1', target.eventPort);
      missing = [
        !ingestUp && 'ingest port',
        gateways < target.gateways && `${target.gateways - gateways} gateway(s)`,
        subscribers < 1 && 'sequencer',
      ].filter(Boolean).join(', ');
      if (!missing) return;
      await delay(POLL_MS);
    }
    throw new Error(`stack not ready after ${READY_TIMEOUT_MS} ms: waiting for ${missing}`);
  } finally {
    redis.disconnect();
  }
}

/** A cluster's node counts only the subscribers connected to it: the sum over the nodes counts each once. */
async function subscribersOf(nodes: readonly Redis[], channel: string): Promise<number> {
  const counts = await Promise.all(nodes.map((node) => node.pubsub('NUMSUB', channel) as Promise<[string, number]>));
  return counts.reduce((sum, [, count]) => sum + Number(count), 0);
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

/**
 * What keeps the stack's processes from being ready, in words (empty once they are):
 * each must answer ready on its /readyz, and one sequencer must say it is active (every
 * standby is ready too, but with none active nothing is sequenced).
 */
async function servicesNotReady(host: string, healthPorts: ReadonlyMap<string, number>): Promise<string[]> {
  const reports = await Promise.all(
    [...healthPorts].map(async ([name, port]) => ({ name, readiness: await probeReadiness(host, port, PROBE_TIMEOUT_MS) })),
  );
  const missing = reports.filter(({ readiness }) => !readiness.ready).map(({ name, readiness }) => {
    const failing = readiness.checks.filter(({ ok }) => !ok).map((check) => `${check.name}: ${check.detail}`);
    return `${name} (${failing.join('; ')})`;
  });
  const sequencers = reports.filter(({ name }) => name.startsWith('sequencer'));
  if (sequencers.length > 0 && !sequencers.some(({ readiness }) => checkDetail(readiness, 'role')?.startsWith('active'))) {
    missing.push('an active sequencer');
  }
  return missing;
}

/** Resolves once every process is ready; meanwhile says what it waits for, every `reportEveryMs`. */
export async function waitUntilServicesReady(
  host: string, healthPorts: ReadonlyMap<string, number>, report: (missing: readonly string[]) => void, reportEveryMs = 10_000,
): Promise<void> {
  let reportAt = Date.now() + reportEveryMs;
  for (;;) {
    const missing = await servicesNotReady(host, healthPorts);
    if (missing.length === 0) return;
    if (Date.now() >= reportAt) {
      report(missing);
      reportAt = Date.now() + reportEveryMs;
    }
    await delay(SERVICES_POLL_MS);
  }
}
