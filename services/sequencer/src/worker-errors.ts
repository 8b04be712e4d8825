import type { Worker } from 'bullmq';
import { ThrottledWarning, type Logger } from '@follower-maze/shared';

/** How long a worker rests after Redis answered it with an error. */
const REST_AFTER_ERROR_MS = 1000;

/**
 * BullMQ waits out a lost connection, but fetches again at once after an error reply
 * (OOM, READONLY, MISCONF while Redis refuses writes): thousands of failed calls and
 * error events a second. This rests the worker for a second after each error instead,
 * and says so once per interval.
 */
export function restWorkerOnErrors(worker: Worker, name: string, logger: Logger): void {
  const warning = new ThrottledWarning(logger, `${name} worker error; resting before the next try`);
  let resting = false;
  worker.on('error', (error) => {
    warning.warn({ err: error.message });
    if (resting || worker.closing) return;
    resting = true;
    void worker.pause(true).then(() => setTimeout(() => {
      resting = false;
      if (!worker.closing) worker.resume();
    }, REST_AFTER_ERROR_MS));
  });
}
