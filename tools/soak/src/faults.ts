import { setTimeout as delay } from 'node:timers/promises';
import { keySlot } from '@follower-maze/shared';
import type { ScratchStack } from '../../stack/src/scratch-stack.ts';
import type { SeededRandom } from '../../verify/src/seeded-random.ts';
import { blockRedisWithScript } from './busy-script.ts';
import { demoteRedis } from './readonly-replica.ts';
import { restartRedis } from './redis-restart.ts';

export const FAULT_NAMES = [
  'redis-restart', 'refuse-writes', 'readonly', 'busy', 'sequencer-kill', 'pubsub-kill', 'gateway-kill', 'cluster-failover',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** A failover takes about 4 to 5 s with the test cluster's 2 s node timeout. */
const CLUSTER_OK_WITHIN_MS = 20_000;

/** What a deployment on a cluster with replicas should run with (see the README's *Redis Cluster*). */
export const CLUSTER_FAILOVER_ENV: NodeJS.ProcessEnv = { REDIS_WAIT_REPLICAS: '1', SEQUENCER_GATEWAY_TTL_MS: '15000' };

/** How long Redis refuses every write in `refuse-writes`. */
const REFUSE_WRITES_MS = 2000;

export interface FaultContext {
  readonly stack: ScratchStack;
  /** 1-based number of the run within its fault, for faults that alternate between variants. */
  readonly run: number;
  readonly random: SeededRandom;
  /**
   * Marks the moment the fault takes effect, after what merely prepares it (a lookup, a
   * connection): only events sent after it count as sent after the fault began. A fault
   * that never calls it began when `inject` was called.
   */
  readonly begin: () => void;
}

export interface Fault {
  readonly name: FaultName;
  /** The stack's AOF policy for this fault; the README promises no loss only under `always`. */
  readonly appendfsync: 'always' | 'everysec';
  /** Whether the fault closes user connections by design, so that the clients must reconnect. */
  readonly reconnectingClients: boolean;
  /** The stack runs on a private Redis Cluster of this shape, its services with this environment. Default: one Redis. */
  readonly redisCluster?: { readonly masters: number; readonly replicasPerMaster: number; readonly env: NodeJS.ProcessEnv };
  /** Injects the fault and resolves once it is over; says what exactly was done. */
  inject(context: FaultContext): Promise<string>;
}

export const FAULTS: Readonly<Record<FaultName, Fault>> = {
  'redis-restart': {
    name: 'redis-restart',
    appendfsync: 'always',
    reconnectingClients: false,
    // Over by the time Redis answers again; alternates a clean-but-abrupt and a crash-like stop.
    inject: ({ stack, run, begin }) => restartRedis(stack, run % 2 === 1 ? 'SHUTDOWN NOSAVE' : 'SIGKILL', begin),
  },
  'refuse-writes': {
    name: 'refuse-writes',
    appendfsync: 'everysec',
    reconnectingClients: false,
    inject: async ({ stack, begin }) => {
      const [, policy] = (await stack.redis.call('CONFIG', 'GET', 'maxmemory-policy')) as [string, string];
      begin();
      // A limit below what Redis already uses: under noeviction every write is answered with OOM.
      await stack.redis.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction', 'maxmemory', '1');
      await delay(REFUSE_WRITES_MS);
      await stack.redis.call('CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', policy);
      return `writes refused for ${REFUSE_WRITES_MS} ms`;
    },
  },
  readonly: {
    name: 'readonly',
    appendfsync: 'everysec',
    reconnectingClients: false,
    // Over once Redis is a master again and accepts writes.
    inject: ({ stack, begin }) => demoteRedis(stack, begin),
  },
  busy: {
    name: 'busy',
    appendfsync: 'everysec',
    reconnectingClients: false,
    // Over once the script has returned.
    inject: ({ stack, begin }) => blockRedisWithScript(stack, begin),
  },
  'sequencer-kill': {
    name: 'sequencer-kill',
    appendfsync: 'everysec',
    reconnectingClients: false,
    inject: async ({ stack, begin }) => {
      const active = await stack.nextActiveSequencer([], 5000);
      const pid = active.pid;
      begin();
      active.signal('SIGKILL');
      return `SIGKILL of the active ${active.spec.name} (pid ${pid})`;
    },
  },
  'pubsub-kill': {
    name: 'pubsub-kill',
    appendfsync: 'everysec',
    reconnectingClients: false,
    inject: async ({ stack }) => {
      const killed = await stack.redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      return `${String(killed)} subscriber connections killed`;
    },
  },
  'cluster-failover': {
    name: 'cluster-failover',
    appendfsync: 'everysec',
    reconnectingClients: false,
    // The ingest waits for a replica: without it, the killed master's last appends are lost. No heartbeat lands while
    // the master of the sequencer's slot fails over (3.5 to 5 s here): the gateways' TTL must outlast that (see the
    // README's *Redis Cluster*), or a new term takes them for dead and they disconnect their clients.
    redisCluster: { masters: 3, replicasPerMaster: 1, env: CLUSTER_FAILOVER_ENV },
    // Odd runs kill the master of the sequencer's slot, even runs a master of user channels only; over once the cluster is ok again.
    inject: async ({ stack, run, begin }) => {
      const cluster = stack.redisCluster!;
      const masters = await cluster.masters();
      const stateMaster = masters.indexOf(await cluster.masterOfSlot(keySlot(stack.keyPrefix)));
      const victim = masters[run % 2 === 1 ? stateMaster : (stateMaster + 1) % masters.length]!;
      begin();
      await victim.kill();
      await cluster.waitForState(true, CLUSTER_OK_WITHIN_MS);
      return `SIGKILL of the master on port ${victim.port} (${run % 2 === 1 ? 'the sequencer\'s slot' : 'user channels only'}); its replica took over`;
    },
  },
  'gateway-kill': {
    name: 'gateway-kill',
    appendfsync: 'everysec',
    reconnectingClients: true,
    inject: async ({ stack, random }) => {
      const gateways = [...stack.stack.processes.values()].filter((process) => process.spec.name.startsWith('gateway'));
      const victim = gateways[random.nextInt(gateways.length)]!;
      const pid = victim.pid;
      victim.signal('SIGKILL');
      return `SIGKILL of ${victim.spec.name} (pid ${pid})`;
    },
  },
};
