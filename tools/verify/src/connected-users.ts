import { RandomStream, streamFor } from './seeded-random.ts';

/**
 * The ids of the users that get a client: `count` distinct ids from
 * 1..numberOfUsers, drawn by a partial Fisher-Yates shuffle of the id range.
 */
export function drawConnectedUsers(randomSeed: number, count: number, numberOfUsers: number): number[] {
  if (count > numberOfUsers) throw new RangeError(`cannot draw ${count} distinct users out of ${numberOfUsers}`);
  const random = streamFor(randomSeed, RandomStream.connectedUsers);
  const ids = Uint32Array.from({ length: numberOfUsers }, (_, index) => index + 1);
  for (let i = 0; i < count; i++) {
    const j = i + random.nextInt(numberOfUsers - i);
    const kept = ids[i]!;
    ids[i] = ids[j]!;
    ids[j] = kept;
  }
  return Array.from(ids.subarray(0, count));
}
