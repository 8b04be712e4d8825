import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReorderBuffer } from '../src/core/reorder-buffer.ts';

function releaseAll(buffer: ReorderBuffer<string>): string[] {
  const out: string[] = [];
  buffer.release((payload) => out.push(payload));
  return out;
}

test('holds events until the gap before them is filled', () => {
  const buffer = new ReorderBuffer<string>(10, 1);
  assert.equal(buffer.insert(2, 'two'), 'accepted');
  assert.equal(buffer.insert(3, 'three'), 'accepted');
  assert.deepEqual(releaseAll(buffer), []);
  assert.equal(buffer.size, 2);
  assert.equal(buffer.insert(1, 'one'), 'accepted');
  assert.deepEqual(releaseAll(buffer), ['one', 'two', 'three']);
  assert.equal(buffer.nextSeq, 4);
  assert.equal(buffer.size, 0);
});

test('tells duplicates, already applied and too-far-ahead events apart', () => {
  const buffer = new ReorderBuffer<string>(4, 5);
  assert.equal(buffer.insert(4, 'old'), 'already-applied');
  assert.equal(buffer.insert(6, 'six'), 'accepted');
  assert.equal(buffer.insert(6, 'six again'), 'duplicate');
  assert.equal(buffer.insert(9, 'far'), 'beyond-window');
  assert.equal(buffer.insert(8, 'eight'), 'accepted');
  assert.equal(buffer.insert(5, 'five'), 'accepted');
  assert.deepEqual(releaseAll(buffer), ['five', 'six']);
  assert.equal(buffer.insert(9, 'nine'), 'accepted', 'the window moves with the next expected number');
});

test('releases any shuffle within the window in order, each event once', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer(), (total, batch, seed) => {
    const order = Array.from({ length: total }, (_, i) => i + 1);
    // Shuffle within consecutive batches, like the standard event source.
    let state = seed;
    for (let start = 0; start < total; start += batch) {
      for (let i = Math.min(start + batch, total) - 1; i > start; i--) {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        const j = start + (state % (i - start + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    const buffer = new ReorderBuffer<string>(2 * batch, 1);
    const released: string[] = [];
    for (const seq of order) {
      assert.equal(buffer.insert(seq, String(seq)), 'accepted');
      buffer.release((payload) => released.push(payload));
      assert.ok(buffer.size <= 2 * batch);
    }
    assert.deepEqual(released, order.map((_, i) => String(i + 1)));
  }));
});

test('skipping a gap moves past the missing numbers to the earliest held event, and only then', () => {
  const buffer = new ReorderBuffer<string>(10, 3);
  assert.equal(buffer.skipGap(), undefined, 'nothing held: no gap to skip');
  buffer.insert(7, 'seven');
  buffer.insert(9, 'nine');
  assert.deepEqual(buffer.skipGap(), { from: 3, to: 6 });
  assert.deepEqual(releaseAll(buffer), ['seven']);
  assert.equal(buffer.nextSeq, 8);
  assert.equal(buffer.insert(5, 'late'), 'already-applied', 'a skipped number that arrives late is not applied');
  assert.deepEqual(buffer.skipGap(), { from: 8, to: 8 });
  assert.deepEqual(releaseAll(buffer), ['nine']);
  assert.equal(buffer.skipGap(), undefined);
});

test('after any skips, every held event is released once, in order (property)', () => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 40 }),
    fc.array(fc.boolean(), { maxLength: 40 }),
    (seqs, skips) => {
      const buffer = new ReorderBuffer<number>(64, 1);
      const released: number[] = [];
      seqs.forEach((seq, index) => {
        buffer.insert(seq, seq);
        if (skips[index]) buffer.skipGap();
        buffer.release((item) => released.push(item));
      });
      while (buffer.skipGap()) buffer.release((item) => released.push(item));
      assert.deepEqual([...released].sort((a, b) => a - b), [...released], 'in increasing order');
      assert.equal(new Set(released).size, released.length, 'none twice');
      assert.equal(buffer.size, 0, 'nothing left behind');
      assert.ok(released.every((seq) => seqs.includes(seq)), 'only what was inserted');
    },
  ));
});

test('a bounded release stops where asked and goes on later from there', () => {
  const buffer = new ReorderBuffer<string>(10, 1);
  for (const seq of [3, 1, 2, 4]) buffer.insert(seq, String(seq));
  const out: string[] = [];
  buffer.release((item) => out.push(item), () => out.length < 2);
  assert.deepEqual(out, ['1', '2']);
  assert.equal(buffer.ready, true, 'the next one is here');
  buffer.release((item) => out.push(item));
  assert.deepEqual(out, ['1', '2', '3', '4']);
  assert.equal(buffer.ready, false);
});
