import { performance } from 'node:perf_hooks';
import type { RedisClient as Redis } from './redis.ts';
import type { HealthCheck } from './health-server.ts';
import { probeReadiness } from './readiness-probe.ts';

/** Passes once the process's port is bound; `port` gives undefined until then. */
export function listeningCheck(what: string, port: () => number | undefined): HealthCheck {
  return {
    name: 'listening',
    check() {
      const bound = port();
      return bound === undefined ? { ok: false, detail: `${what}: not listening yet` } : { ok: true, detail: `${what} ${bound}` };
    },
  };
}

/**
 * Redis answers a PING on the connection the process works with. A connection that is
 * not ready fails at once: a PING would wait in its queue until it reconnects.
 */
export function redisCheck(redis: Redis): HealthCheck {
  return {
    name: 'redis',
    async check() {
      if (redis.status !== 'ready') return { ok: false, detail: `connection ${redis.status}` };
      const startedAt = performance.now();
      await redis.ping();
      return { ok: true, detail: `answered PING in ${Math.round(performance.now() - startedAt)} ms` };
    },
  };
}

/** A connection that cannot be pinged (a subscriber) is up. */
export function connectionCheck(name: string, redis: Redis): HealthCheck {
  return {
    name,
    check: () => ({ ok: redis.status === 'ready', detail: `connection ${redis.status}` }),
  };
}

/** Another process is ready, as its own /readyz says (a gateway primary asks its workers). */
export function remoteReadinessCheck(name: string, host: string, port: number, timeoutMs: number): HealthCheck {
  return {
    name,
    async check() {
      const readiness = await probeReadiness(host, port, timeoutMs);
      const failing = readiness.checks.filter(({ ok }) => !ok).map(({ name: check, detail }) => `${check} ${detail}`);
      return { ok: readiness.ready, detail: readiness.ready ? `ready (port ${port})` : `not ready (port ${port}): ${failing.join('; ')}` };
    },
  };
}
