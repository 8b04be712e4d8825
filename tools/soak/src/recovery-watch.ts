import { setTimeout as delay } from 'node:timers/promises';
import type { LiveProgress } from '../../verify/src/index.ts';

/** Resolution of the measured recovery time. */
export const RECOVERY_POLL_MS = 10;

/**
 * Time to recover, in ms: from the end of a fault until notifications flow again, that
 * is until a client receives a notification of an event the source sent after the fault
 * began (a sequence number above `lastSeqSentBeforeFault`). Merely counting notifications
 * would not do: those already on their way when a process is killed keep arriving for a
 * few milliseconds and would pass for a recovery. 0 when they flowed throughout (a fault
 * that other replicas absorb); undefined when the run ended before they flowed again.
 */
export async function watchRecovery(
  progress: () => LiveProgress,
  lastSeqSentBeforeFault: number,
  faultEndedAt: number,
  runEnded: () => boolean,
): Promise<number | undefined> {
  for (;;) {
    // Read before the check of the end, so that a last notification before the end still counts.
    const ended = runEnded();
    if (progress().highestSeqReceived > lastSeqSentBeforeFault) return Math.max(0, performance.now() - faultEndedAt);
    if (ended) return undefined;
    await delay(RECOVERY_POLL_MS);
  }
}
