import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import type { Keys } from '@follower-maze/shared';

/** The ops command's entry point, run as `node --import tsx OPS_MAIN top`. */
export const OPS_MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

/**
 * The keys a stack would leave, each with a TTL well past a test: a position, the lease of
 * `vm-1`, gateway `gw-1` holding 5 clients, and a standby sequencer's wait.
 */
export async function writeStackKeys(redis: Redis, keys: Keys): Promise<void> {
  const [seconds] = await redis.time();
  const nowMs = Number(seconds) * 1000;
  await redis.hset(keys.position, { nextSeq: 101, batchSeq: 50, epoch: 1, term: 3 });
  await redis.set(keys.sequencerLease, 'vm-1-0a1b2c3d', 'PX', 60_000);
  await redis.hset(keys.gateways, 'gw-1', nowMs);
  await redis.set(keys.gatewayLoad('gw-1'), `${nowMs} 5 0 12`, 'PX', 60_000);
  await redis.set(keys.waits('sequencer-vm-2'), JSON.stringify([{ what: 'the lease (standing by)', since: '', forMs: 9000 }]), 'PX', 60_000);
  await redis.zadd(keys.waitingProcesses, nowMs, 'sequencer-vm-2');
}

/** `ops top` as a child process with pipes for its output; `kill` it when done. */
export function spawnOpsTop(env: NodeJS.ProcessEnv, ...args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', OPS_MAIN, 'top', ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
