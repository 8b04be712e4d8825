/**
 * Users or channels named in one Redis command at most. A list that grows with the users
 * is sent in pieces of this size: an argument list that grows with the input hits V8's
 * limit on arguments, and one huge command holds Redis up for everyone else.
 */
export const ITEMS_PER_COMMAND = 1000;

/** `items` in consecutive pieces of at most `size`. */
export function* chunksOf<T>(items: readonly T[], size = ITEMS_PER_COMMAND): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
