import { setTimeout as delay } from 'node:timers/promises';
import type { ScratchStack } from '../../stack/src/scratch-stack.ts';
import { freePorts } from '../../stack/src/free-ports.ts';

/** How long Redis stays a replica in `readonly`. */
const READONLY_MS = 2000;

/**
 * Makes the stack's Redis a replica of a port nothing listens on, for `READONLY_MS`,
 * then a master again; resolves once it accepts writes again. Meanwhile every write
 * (and every script that writes) is answered `READONLY` and reads go on: a replica
 * serves stale data while its link is down. Becoming a replica also ends every blocked
 * command (XREADGROUP BLOCK, BZPOPMIN) with an `UNBLOCKED` error reply. The data set is
 * kept: a replica drops it only when a full sync from its master begins, which a master
 * that refuses the connection never starts. `begin` is called just before REPLICAOF.
 */
export async function demoteRedis(stack: ScratchStack, begin: () => void): Promise<string> {
  const [port] = await freePorts(1);
  begin();
  await stack.redis.call('REPLICAOF', '127.0.0.1', String(port));
  try {
    await delay(READONLY_MS);
  } finally {
    await stack.redis.call('REPLICAOF', 'NO', 'ONE');
  }
  return `replica of 127.0.0.1:${port} (nothing listens) for ${READONLY_MS} ms, writes answered READONLY`;
}
