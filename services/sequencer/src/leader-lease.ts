import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/** Takes the lease when it is free, or extends it when it is already ours. */
const ACQUIRE_LUA = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type LeaseCommands = Redis & {
  fmAcquireLease(key: string, token: string, ttlMs: number): Promise<number>;
  fmReleaseLease(key: string, token: string): Promise<number>;
};

/**
 * The right to be the active sequencer: a key holding this process's token, with a TTL.
 * The holder renews it well before it expires; a standby takes it once it lapses.
 */
export class LeaderLease {
  readonly token = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly redis: LeaseCommands;

  constructor(
    redis: Redis,
    private readonly key: string,
    readonly ttlMs: number,
  ) {
    redis.defineCommand('fmAcquireLease', { numberOfKeys: 1, lua: ACQUIRE_LUA });
    redis.defineCommand('fmReleaseLease', { numberOfKeys: 1, lua: RELEASE_LUA });
    this.redis = redis as LeaseCommands;
  }

  /** True when this process holds the lease for another `ttlMs`. */
  async acquire(): Promise<boolean> {
    return (await this.redis.fmAcquireLease(this.key, this.token, this.ttlMs)) === 1;
  }

  /** Lets a standby take over at once instead of after the TTL. */
  async release(): Promise<void> {
    await this.redis.fmReleaseLease(this.key, this.token);
  }
}
