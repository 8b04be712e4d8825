import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePorts } from './free-ports.ts';
import { RedisServer, restrictToOwner } from './redis-server.ts';

/** How long `start` waits for the cluster to form, replicas included. */
const FORM_TIMEOUT_MS = 30_000;
const POLL_MS = 100;
const COMMAND_TIMEOUT_MS = 1000;
/** `redis-cli --cluster create` refuses fewer. */
const MIN_MASTERS = 3;

export interface RedisClusterOptions {
  readonly masters: number;
  /** Default 0. */
  readonly replicasPerMaster?: number;
  /** Every node keeps its nodes.conf (and its append-only files) in a directory of its own in it, `node-<port>`. */
  readonly dataDir: string;
  /** Required by every node (`requirepass`), and given by replicas to their masters (`masterauth`). */
  readonly password?: string;
  /** AOF with `appendfsync everysec`. Default false: nothing but nodes.conf on disk. */
  readonly appendOnly?: boolean;
  /** `cluster-node-timeout`: how long a master is unreachable before its replica takes over. Default 2000. */
  readonly nodeTimeoutMs?: number;
  /**
   * One per node, masters' first, each with its cluster bus on the port 10000 above. Default:
   * free ports, and free bus ports (`cluster-port`). Fixed ports let a cluster start again from its nodes.conf.
   */
  readonly ports?: readonly number[];
}

export interface RedisClusterNode {
  readonly port: number;
  /** While it runs. */
  readonly pid: number | undefined;
  /** Holds the password: show it only through `redactUrl`. */
  readonly url: string;
  role(): Promise<'master' | 'replica'>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Again after `kill`, from its nodes.conf: it rejoins the cluster, as a replica if another took its slots. */
  start(): Promise<void>;
  /** One command on a connection of its own that does not retry (`INFO`, `CONFIG RESETSTAT`). */
  command(name: string, ...args: string[]): Promise<unknown>;
}

class ClusterNode implements RedisClusterNode {
  constructor(private readonly server: RedisServer) {}

  get port(): number {
    return this.server.options.port;
  }

  get url(): string {
    return this.server.url;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  async role(): Promise<'master' | 'replica'> {
    const [role] = (await this.command('ROLE')) as [string];
    return role === 'master' ? 'master' : 'replica';
  }

  kill(): Promise<void> {
    return this.server.stop('SIGKILL');
  }

  start(): Promise<void> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** On a connection of its own that does not retry: a killed node fails the call instead of holding it. */
  async command(name: string, ...args: string[]): Promise<unknown> {
    const redis = new Redis(this.url, {
      lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null,
      connectTimeout: COMMAND_TIMEOUT_MS, commandTimeout: COMMAND_TIMEOUT_MS,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await redis.call(name, ...args);
    } finally {
      redis.disconnect();
    }
  }
}

/**
 * A private Redis Cluster of `redis-server` processes from the PATH, for tests and
 * `REDIS_CLUSTER=N npm start`: the nodes start in cluster mode, `redis-cli --cluster create`
 * joins them and spreads the slots, and `start` resolves once every node says the cluster is
 * ok, every node serves the same slot map and every replica has synchronised with its master.
 */
export class RedisCluster {
  private constructor(
    private readonly members: readonly ClusterNode[],
    private readonly replicasPerMaster: number,
  ) {}

  get nodes(): readonly RedisClusterNode[] {
    return this.members;
  }

  /** For REDIS_CLUSTER_NODES: each holds the password, so show them only through `redactUrl`. */
  get seedUrls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  static async start(options: RedisClusterOptions): Promise<RedisCluster> {
    const { masters, replicasPerMaster = 0, dataDir, password, appendOnly = false, nodeTimeoutMs = 2000 } = options;
    if (!Number.isInteger(masters) || masters < MIN_MASTERS) throw new Error(`a Redis Cluster needs at least ${MIN_MASTERS} masters, not ${masters}`);
    const count = masters * (1 + replicasPerMaster);
    // A node's cluster bus listens on its port + 10000 unless told otherwise, which nobody
    // checked was free: free ports get free bus ports too.
    const free = options.ports ? undefined : await freePorts(2 * count);
    const ports = options.ports ?? free!.slice(0, count);
    if (ports.length !== count) throw new Error(`${count} nodes need ${count} ports, not ${ports.length}`);
    restrictToOwner(dataDir);
    const configuration = [
      'cluster-enabled yes', 'cluster-config-file nodes.conf', `cluster-node-timeout ${nodeTimeoutMs}`,
      // A master has one replica to feed at a time here: it need not wait 5 s for others to share the transfer.
      'repl-diskless-sync-delay 0',
      ...(password === undefined ? [] : [`masterauth "${password}"`]),
    ];
    const cluster = new RedisCluster(ports.map((port, index) => new ClusterNode(new RedisServer({
      port, dataDir: join(dataDir, `node-${port}`), appendOnly, appendfsync: 'everysec',
      configuration: [...configuration, ...(free ? [`cluster-port ${free[count + index]!}`] : [])],
      ...(password !== undefined && { password }),
    }))), replicasPerMaster);
    try {
      await Promise.all(cluster.members.map((node) => node.start()));
      if (await cluster.isNew()) await cluster.create(password);
      await cluster.waitForState(true, FORM_TIMEOUT_MS);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The live nodes that are masters now, in the order of `nodes`. */
  async masters(): Promise<RedisClusterNode[]> {
    const live = this.members.filter((node) => node.running);
    const roles = await Promise.all(live.map((node) => node.role()));
    return live.filter((_, index) => roles[index] === 'master');
  }

  /**
   * The master that serves `slot`, as the live nodes say now (CLUSTER SLOTS), not as a
   * client's slot cache has it: a client that has not loaded its map yet knows no master.
   */
  async masterOfSlot(slot: number): Promise<RedisClusterNode> {
    const masters = await this.masters();
    const ranges = await slotRanges(masters[0]!);
    const port = ranges.find(({ first, last }) => first <= slot && slot <= last)?.masterPort;
    const master = masters.find((node) => node.port === port);
    if (!master) throw new Error(`no live master serves slot ${slot} (CLUSTER SLOTS names port ${port ?? 'none'})`);
    return master;
  }

  /** SIGKILLs the `index`th of `masters()` (default the first) and returns it. */
  async killMaster(index = 0): Promise<RedisClusterNode> {
    const masters = await this.masters();
    const master = masters[index];
    if (!master) throw new Error(`no master ${index}: the cluster has ${masters.length}`);
    await master.kill();
    return master;
  }

  /**
   * Until every live node says `cluster_state:ok` (or every one says `fail`). Ok also waits
   * until they serve the same slot map and every live replica's link to its master is up,
   * so that a client sees one map whichever node it asks, and a replica is fit to take over.
   */
  async waitForState(ok: boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let missing = '';
    for (;;) {
      missing = await this.unsettled(ok).catch((error: Error) => `an answer (${error.message})`);
      if (!missing) return;
      if (Date.now() >= deadline) throw new Error(`cluster not ${ok ? 'ok' : 'failed'} after ${timeoutMs} ms: waiting for ${missing}`);
      await delay(POLL_MS);
    }
  }

  /** Stops every node (SIGTERM: each writes its nodes.conf and append-only file); removes nothing. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((node) => node.stop()));
  }

  /** What keeps the live nodes from the state, in words; empty once they are in it. */
  private async unsettled(ok: boolean): Promise<string> {
    const live = this.members.filter((node) => node.running);
    const states = await Promise.all(live.map(async (node) => /cluster_state:ok/.test(String(await node.command('CLUSTER', 'INFO')))));
    const wrong = live.filter((_, index) => states[index] !== ok).map((node) => node.port);
    if (wrong.length > 0) return `cluster_state:${ok ? 'ok' : 'fail'} on port(s) ${wrong.join(', ')}`;
    if (!ok) return '';
    const maps = await Promise.all(live.map(async (node) => slotMap(await slotRanges(node))));
    if (new Set(maps).size > 1) return `one slot map on every node (they have ${[...new Set(maps)].join(' | ')})`;
    const links = await Promise.all(live.map(async (node) => String(await node.command('INFO', 'replication'))));
    const syncing = live.filter((_, index) => /^role:slave/m.test(links[index]!) && !/^master_link_status:up/m.test(links[index]!));
    return syncing.length > 0 ? `the replica(s) on port(s) ${syncing.map((node) => node.port).join(', ')} to synchronise` : '';
  }

  /** Every node knows only itself: none has joined a cluster yet (or they start again from their nodes.conf). */
  private async isNew(): Promise<boolean> {
    const known = await Promise.all(
      this.members.map(async (node) => Number(/cluster_known_nodes:(\d+)/.exec(String(await node.command('CLUSTER', 'INFO')))?.[1])),
    );
    if (known.every((count) => count === 1)) return true;
    if (known.every((count) => count === this.nodes.length)) return false;
    throw new Error(
      `the nodes' nodes.conf files do not describe one cluster of these ${this.nodes.length} nodes (each knows ${known.join(', ')} nodes): ` +
        'remove the node-<port> directories to start a new one',
    );
  }

  /** The password reaches redis-cli in its environment, not on its command line, which every user can read. */
  private create(password: string | undefined): Promise<void> {
    const args = [
      '--cluster', 'create', ...this.nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas', String(this.replicasPerMaster), '--cluster-yes',
    ];
    const child = spawn('redis-cli', args, {
      env: { ...process.env, ...(password !== undefined && { REDISCLI_AUTH: password }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create exited with code ${code}: ${output.trim()}`)),
      );
    });
  }
}

/** A range of slots and the port of the master serving it. */
interface SlotRange {
  readonly first: number;
  readonly last: number;
  readonly masterPort: number;
}

/** A node's CLUSTER SLOTS. */
async function slotRanges(node: RedisClusterNode): Promise<SlotRange[]> {
  const reply = (await node.command('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return reply.map(([first, last, [, masterPort]]) => ({ first, last, masterPort }));
}

/** Slot ranges as `first-last@masterPort`, by first slot: what a node's clients are told about the masters. */
function slotMap(ranges: readonly SlotRange[]): string {
  return ranges
    .map(({ first, last, masterPort }) => ({ first, text: `${first}-${last}@${masterPort}` }))
    .sort((a, b) => a.first - b.first)
    .map(({ text }) => text)
    .join(',');
}
