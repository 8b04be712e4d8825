import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient as Redis } from '@follower-maze/shared';
import { luaScript } from './lua-script.ts';

const RENEW_LUA = luaScript('renew-lease.lua');
const RELEASE_LUA = luaScript('release-lease.lua');

type LeaseCommands = Redis & {
  fmRenewLease(key: string, token: string, ttlMs: number): Promise<number>;
  fmReleaseLease(key: string, token: string): Promise<number>;
};

/**
 * The right to be the active sequencer: a key holding a token, with a TTL. Each
 * acquisition draws a new token, so a process that lost the lease (paused, cut off) can
 * only lead again through a new term that reloads its state; its old reads and commits
 * stay fenced. The holder renews well before the TTL; a standby takes it once it lapses.
 */
export class LeaderLease {
  private currentToken = '';
  private readonly redis: LeaseCommands;
  /** The process part of every token: host and pid, so operators (and tests) can tell who leads. */
  private readonly holder = `${hostname()}-${process.pid}`;

  constructor(
    redis: Redis,
    private readonly key: string,
    readonly ttlMs: number,
  ) {
    redis.defineCommand('fmRenewLease', { numberOfKeys: 1, lua: RENEW_LUA });
    redis.defineCommand('fmReleaseLease', { numberOfKeys: 1, lua: RELEASE_LUA });
    this.redis = redis as LeaseCommands;
  }

  /** The token of the latest acquisition. */
  get token(): string {
    return this.currentToken;
  }

  /** Takes the lease if it is free, under a new token. */
  async acquire(): Promise<boolean> {
    const token = `${this.holder}-${randomBytes(4).toString('hex')}`;
    const taken = (await this.redis.set(this.key, token, 'PX', this.ttlMs, 'NX')) === 'OK';
    if (taken) this.currentToken = token;
    return taken;
  }

  /** Extends the lease for another TTL; false when it is no longer ours. */
  async renew(): Promise<boolean> {
    return (await this.redis.fmRenewLease(this.key, this.currentToken, this.ttlMs)) === 1;
  }

  /** Lets a standby take over at once instead of after the TTL. */
  async release(): Promise<void> {
    await this.redis.fmReleaseLease(this.key, this.currentToken);
  }
}
