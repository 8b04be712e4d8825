/**
 * Fencing: every write of the sequencer (reads move the consumer group too) runs in a
 * script that first checks that the caller still holds the lease and still works on
 * the epoch it loaded. A sequencer that was paused past its lease, or that loaded its
 * state before an operator's reset, is refused and steps down.
 */
export const FENCE_LUA = `
local function fence(lease, token, position, epoch)
  if redis.call('GET', lease) ~= token then return 'FENCED lease lost' end
  if (redis.call('HGET', position, 'epoch') or '0') ~= epoch then return 'FENCED epoch changed' end
  return nil
end
`;

export class FencedError extends Error {
  override readonly name = 'FencedError';
}

/** Turns Redis's refusal into a FencedError, leaving other errors as they are. */
export function asFenced(error: unknown): unknown {
  return error instanceof Error && error.message.startsWith('FENCED') ? new FencedError(error.message) : error;
}
