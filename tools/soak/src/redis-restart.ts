import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { ScratchStack } from '../../stack/src/scratch-stack.ts';

/** How long Redis stays down. */
const DOWN_MS = 1000;
/** A SHUTDOWN that has not ended the process by then is finished with SIGKILL (and said so). */
const SHUTDOWN_TIMEOUT_MS = 5000;
const POLL_MS = 10;

export type RedisStop = 'SHUTDOWN NOSAVE' | 'SIGKILL';

/**
 * Stops the stack's redis-server abruptly and starts it again on the same AOF a second
 * later; resolves once it answers again. `SHUTDOWN NOSAVE` is Redis ending itself
 * (closing every connection at once); SIGKILL is a crash. `begin` is called just before
 * the stop.
 */
export async function restartRedis(stack: ScratchStack, how: RedisStop, begin: () => void): Promise<string> {
  const server = stack.stack.redis;
  if (server === undefined) throw new Error('the stack has no private redis-server to restart');
  let done: string = how;
  if (how === 'SIGKILL') {
    begin();
    await server.stop('SIGKILL');
  } else {
    const pid = server.pid;
    await shutdownNoSave(server.url, begin);
    if (!(await exited(pid, SHUTDOWN_TIMEOUT_MS))) {
      await server.stop('SIGKILL');
      done = `${how} (still running after ${SHUTDOWN_TIMEOUT_MS} ms: SIGKILL)`;
    }
  }
  await delay(DOWN_MS);
  await server.start();
  return `${done}, restarted ${DOWN_MS} ms later`;
}

/** Sent on a connection of its own: Redis answers it by closing the connection, and nothing may retry it. */
async function shutdownNoSave(url: string, begin: () => void): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    begin();
    await client.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
  } finally {
    client.disconnect();
  }
}

/** Whether the process is gone (reaped) within the time; signal 0 only asks. */
async function exited(pid: number | undefined, timeoutMs: number): Promise<boolean> {
  if (pid === undefined) return true;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await delay(POLL_MS);
  }
  return false;
}
