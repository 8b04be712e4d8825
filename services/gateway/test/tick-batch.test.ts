import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunksOf } from '../src/chunks.ts';
import { TickBatch } from '../src/tick-batch.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('what is added in one turn is handled as one list, in order, once the turn is over', async () => {
  const lists: number[][] = [];
  const batch = new TickBatch<number>(async (items) => void lists.push(items));
  const settled = [1, 2, 3].map((item) => batch.add(item));
  assert.deepEqual(lists, [], 'nothing is handled during the turn');
  await Promise.all(settled);
  batch.add(4);
  await nextTurn();
  assert.deepEqual(lists, [[1, 2, 3], [4]]);
});

test('the lists of turns, each cut at the most items a list may hold, cover every item once and in order; each add settles with its own list', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }),
      async (maxItems, turnSizes) => {
        const lists: number[][] = [];
        // A list holding a multiple of 7 fails, as a refused command would.
        const batch = new TickBatch<number>(async (items) => {
          lists.push(items);
          await nextTurn();
          if (items.some((item) => item % 7 === 0)) throw new Error('refused');
        }, maxItems);
        const expected: number[][] = [];
        const outcomes: Promise<[number, boolean]>[] = [];
        let next = 1;
        for (const size of turnSizes) {
          const items = Array.from({ length: size }, () => next++);
          for (const item of items) outcomes.push(batch.add(item).then(() => [item, true], () => [item, false]));
          expected.push(...chunksOf(items, maxItems));
          await nextTurn();
        }
        const settled = new Map(await Promise.all(outcomes));
        assert.deepEqual(lists, expected);
        for (const list of lists) {
          const ok = !list.some((item) => item % 7 === 0);
          for (const item of list) assert.equal(settled.get(item), ok, `item ${item} settles with its list`);
        }
      },
    ),
  );
});
