/**
 * Waits for a close to finish, but not for ever: some clients (BullMQ's worker among
 * them) can wait indefinitely for a Redis that is restarting. Past the limit the caller
 * goes on and drops the connections itself.
 */
export async function closeWithin(closing: Promise<unknown>, limitMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), limitMs)));
  try {
    return await Promise.race([closing.then(() => true, () => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
