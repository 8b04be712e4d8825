import { setTimeout as delay } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redactUrl } from '@follower-maze/shared';

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;
/** The data directory and every directory in it: its owner only. */
const OWNER_ONLY_DIRECTORY = 0o700;
/** The append-only files (every private message is in them): their owner only. */
const OWNER_ONLY_FILE = 0o600;
/** The mask redis-server runs with, so that every file it writes is its owner's only. */
const OWNER_ONLY_UMASK = 0o077;
/** What redis-server keeps in its directory: the append-only files (Redis 7), or the one file of Redis 6. */
const APPEND_ONLY_ENTRIES = ['appendonlydir', 'appendonly.aof'];

export interface RedisServerOptions {
  readonly port: number;
  /** Where the AOF lives; created if missing. */
  readonly dataDir: string;
  /** `always`, `everysec` or `no`; see the README for what each can lose. */
  readonly appendfsync: 'always' | 'everysec' | 'no';
  /** The password it requires (`requirepass`). Default: none. */
  readonly password?: string;
  /** Default true; false keeps nothing on disk but what `configuration` asks for (a cluster's nodes.conf). */
  readonly appendOnly?: boolean;
  /** More configuration lines, on its standard input like the password (`masterauth` holds it too). */
  readonly configuration?: readonly string[];
}

/**
 * A private redis-server from the PATH, with AOF on, for `npm start`, tests and benchmarks.
 * Its data directory and files are readable by their owner only; its password reaches it
 * on its standard input, not its command line, which every user of the machine can read.
 */
export class RedisServer {
  private child: ChildProcess | undefined;

  constructor(readonly options: RedisServerOptions) {}

  /** Holds the password: show it only through `redactUrl`. */
  get url(): string {
    const { password, port } = this.options;
    return `redis://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Started, and not exited since. */
  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async start(): Promise<void> {
    const { port, dataDir, appendfsync, password, appendOnly = true, configuration = [] } = this.options;
    restrictToOwner(dataDir);
    // The child inherits the mask: the append-only files it creates, now and on every rewrite, are 0600.
    const umask = process.umask(OWNER_ONLY_UMASK);
    try {
      this.child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '',
        '--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', appendfsync, '--loglevel', 'warning',
        // Configuration from the standard input too: the password (and `configuration`, which may hold it).
        '-',
      ], {
        stdio: ['pipe', 'ignore', 'inherit'],
        // Its own process group: Ctrl-C in a terminal reaches the services, which stop first and
        // write what they hold, and Redis is stopped after them (stop()), not at the same moment.
        detached: true,
      });
    } finally {
      process.umask(umask);
    }
    this.child.stdin!.end([...(password === undefined ? [] : [`requirepass "${password}"`]), ...configuration, ''].join('\n'));
    const failed = new Promise<never>((_, reject) =>
      this.child!.once('exit', (code) => reject(new Error(`redis-server exited with code ${code} (is port ${port} free?)`))),
    );
    await Promise.race([waitForPing(this.url), failed]);
  }

  /** SIGKILL simulates a crash; SIGTERM is a clean stop. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}

async function waitForPing(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    while (Date.now() < deadline) {
      try {
        if (client.status !== 'ready') await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch {
        client.disconnect();
        await delay(READY_POLL_MS);
      }
    }
    throw new Error(`redis at ${redactUrl(url)} did not answer within ${READY_TIMEOUT_MS} ms`);
  } finally {
    client.disconnect();
  }
}

/**
 * Creates the directory, or takes away from group and others what an earlier version (or
 * the umask) let them read: the directory itself, and redis-server's files in it. Only
 * those: STACK_DATA_DIR may name a directory that holds other things too.
 */
export function restrictToOwner(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: OWNER_ONLY_DIRECTORY });
  chmodSync(dir, OWNER_ONLY_DIRECTORY);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!APPEND_ONLY_ENTRIES.includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (!entry.isDirectory()) {
      chmodSync(path, OWNER_ONLY_FILE);
      continue;
    }
    chmodSync(path, OWNER_ONLY_DIRECTORY);
    for (const file of readdirSync(path)) chmodSync(join(path, file), OWNER_ONLY_FILE);
  }
}
