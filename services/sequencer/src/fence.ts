/**
 * Fencing (see lua/fence.lua): every write of the sequencer (reads move the consumer
 * group too) runs in a script that first checks that the caller still holds the lease
 * and still works on the epoch it loaded; a refusal starts with FENCED.
 */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/** Turns Redis's refusal into a FencedError, leaving other errors as they are. */
export function asFenced(error: unknown): unknown {
  return error instanceof Error && error.message.startsWith('FENCED') ? new FencedError(error.message) : error;
}
