import { setTimeout as delay } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;

export interface RedisServerOptions {
  readonly port: number;
  /** Where the AOF lives; created if missing. */
  readonly dataDir: string;
  /** `always`, `everysec` or `no`; see the README for what each can lose. */
  readonly appendfsync: 'always' | 'everysec' | 'no';
}

/** A private redis-server from the PATH, with AOF on, for `npm start`, tests and benchmarks. */
export class RedisServer {
  private child: ChildProcess | undefined;

  constructor(readonly options: RedisServerOptions) {}

  get url(): string {
    return `redis://127.0.0.1:${this.options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const { port, dataDir, appendfsync } = this.options;
    mkdirSync(dataDir, { recursive: true });
    this.child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', appendfsync, '--loglevel', 'warning',
    ], {
      stdio: ['ignore', 'ignore', 'inherit'],
      // Its own process group: Ctrl-C in a terminal reaches the services, which stop first and
      // write what they hold, and Redis is stopped after them (stop()), not at the same moment.
      detached: true,
    });
    const failed = new Promise<never>((_, reject) =>
      this.child!.once('exit', (code) => reject(new Error(`redis-server exited with code ${code} (is port ${port} free?)`))),
    );
    await Promise.race([waitForPing(this.url), failed]);
  }

  /** SIGKILL simulates a crash; SIGTERM is a clean stop. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
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
    throw new Error(`redis at ${url} did not answer within ${READY_TIMEOUT_MS} ms`);
  } finally {
    client.disconnect();
  }
}
