import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePorts } from '../../tools/stack/src/free-ports.ts';
import { RedisServer } from '../../tools/stack/src/redis-server.ts';

/**
 * A redis-server of the test's own, on a free port, without persistence: for faults
 * (refused writes, a kill) that must not reach the machine's Redis, which other tests share.
 */
export class PrivateRedis {
  /** A connection for the test's own commands. */
  readonly redis: Redis;

  private constructor(
    readonly server: RedisServer,
    private readonly dir: string,
  ) {
    this.redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  }

  get url(): string {
    return this.server.url;
  }

  static async start(name: string): Promise<PrivateRedis> {
    const dir = mkdtempSync(join(tmpdir(), `fm-${name}-`));
    const [port] = await freePorts(1);
    const server = new RedisServer({ port: port!, dataDir: dir, appendfsync: 'no' });
    await server.start();
    return new PrivateRedis(server, dir);
  }

  /** Stops the server (if a test has not already) and removes its files. */
  async stop(): Promise<void> {
    this.redis.disconnect();
    await this.server.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
