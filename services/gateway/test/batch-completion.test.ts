import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BatchMarker } from '@follower-maze/shared';
import { BatchCompletion, type MarkerOutcome } from '../src/batch-completion.ts';

const marker = (term: number, previousSeq: number, batchSeq: number): BatchMarker => ({ epoch: 0, term, previousSeq, batchSeq });

/** What the gateway did with the one batch-end channel of one Redis before there were several (gateway.ts, isGap and advanceTo). */
class OneChannelBefore {
  term = 0;
  lastBatch = 0;
  synced = false;

  marker(m: BatchMarker): MarkerOutcome {
    const gapAfter = this.synced && m.previousSeq > this.lastBatch ? this.lastBatch : undefined;
    return { stale: false, gapAfter, advance: this.advanceTo(m) };
  }

  sync(batchSeq: number): number {
    this.lastBatch = Math.max(this.lastBatch, batchSeq);
    this.synced = true;
    return this.lastBatch;
  }

  restart(): void {
    this.term = 0;
    this.lastBatch = 0;
  }

  private advanceTo({ term, batchSeq }: BatchMarker): MarkerOutcome['advance'] {
    if (term !== this.term) {
      this.term = term;
      this.lastBatch = batchSeq;
      return { batchSeq, rebase: true };
    }
    if (batchSeq <= this.lastBatch) return undefined;
    this.lastBatch = batchSeq;
    return { batchSeq, rebase: false };
  }
}

type Step =
  | { kind: 'live' | 'logged'; term: number; previousSeq: number; batchSeq: number }
  | { kind: 'sync'; batchSeq: number }
  | { kind: 'restart' };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({
    kind: fc.constantFrom('live' as const, 'logged' as const), term: fc.integer({ min: 0, max: 4 }),
    previousSeq: fc.integer({ min: 0, max: 30 }), batchSeq: fc.integer({ min: 0, max: 30 }),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const), batchSeq: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
);

test('with one channel (one Redis) every marker, logged batch, start and reset does exactly what the gateway did before', () => {
  fc.assert(fc.property(fc.array(stepArbitrary, { maxLength: 60 }), (steps) => {
    const before = new OneChannelBefore();
    const completion = new BatchCompletion(['fm:batch-end'], false);
    for (const step of steps) {
      if (step.kind === 'sync') {
        assert.equal(completion.sync(step.batchSeq), before.sync(step.batchSeq));
      } else if (step.kind === 'restart') {
        before.restart();
        completion.restart();
      } else {
        const m = marker(step.term, step.previousSeq, step.batchSeq);
        const outcome = step.kind === 'live' ? completion.marker('fm:batch-end', m) : completion.logged(m);
        assert.deepEqual(outcome, before.marker(m), `${step.kind} ${JSON.stringify(m)}`);
      }
      assert.equal(completion.lastBatch, before.lastBatch);
    }
  }), { numRuns: 2000 });
});

test('on several channels a batch is received only once its marker came on every one', () => {
  const completion = new BatchCompletion(['a', 'b', 'c'], true);
  completion.sync(0);
  assert.equal(completion.marker('a', marker(1, 0, 5)).advance, undefined);
  assert.equal(completion.marker('b', marker(1, 0, 5)).advance, undefined);
  assert.deepEqual(completion.marker('c', marker(1, 0, 5)).advance, { batchSeq: 5, rebase: true });
  assert.equal(completion.marker('a', marker(1, 5, 9)).advance, undefined);
  assert.equal(completion.marker('a', marker(1, 9, 12)).advance, undefined);
  assert.equal(completion.marker('c', marker(1, 5, 9)).advance, undefined);
  assert.deepEqual(completion.marker('b', marker(1, 5, 9)).advance, { batchSeq: 9, rebase: false });
  assert.equal(completion.lastBatch, 9);
  assert.equal(completion.marker('elsewhere', marker(1, 12, 14)).advance, undefined, 'not a batch-end channel of this gateway');
});

test('a gap is per channel: a marker whose previous batch that channel never had', () => {
  const completion = new BatchCompletion(['a', 'b'], true);
  completion.sync(3);
  assert.equal(completion.marker('a', marker(1, 3, 5)).gapAfter, undefined);
  assert.equal(completion.marker('a', marker(1, 5, 8)).gapAfter, undefined, 'b not having 5 yet is no gap on a');
  assert.equal(completion.marker('b', marker(1, 5, 8)).gapAfter, 3, 'b missed batch 5');
  assert.equal(completion.logged(marker(1, 9, 11)).gapAfter, 8, 'the log no longer holds batch 9');
});

test('a marker of an older term for a batch the channel had is dropped on a cluster; one for a later batch means the term went back', () => {
  const completion = new BatchCompletion(['a', 'b'], true);
  completion.sync(0);
  completion.marker('a', marker(2, 0, 10));
  completion.marker('b', marker(2, 0, 10));
  completion.marker('a', marker(3, 10, 12));
  // The deposed sequencer of term 2 publishes its batch 10 late on a.
  assert.deepEqual(completion.marker('a', marker(2, 8, 10)), { stale: true, gapAfter: undefined, advance: undefined });
  assert.deepEqual(completion.marker('b', marker(3, 10, 12)).advance, { batchSeq: 12, rebase: true });
  assert.deepEqual(completion.marker('a', marker(3, 12, 15)), { stale: false, gapAfter: undefined, advance: undefined }, 'no gap on a');
  // Redis lost the increments of terms 2 and 3: the next term is 2 again, and numbers from 11.
  assert.equal(completion.marker('a', marker(2, 9, 11)).stale, true, 'cannot tell from a deposed sequencer yet');
  assert.equal(completion.marker('a', marker(2, 11, 16)).stale, false, 'no deposed sequencer committed batch 16');
  assert.deepEqual(completion.marker('b', marker(2, 11, 16)), { stale: false, gapAfter: undefined, advance: { batchSeq: 16, rebase: true } });
  // One Redis keeps what it did: a marker of an older term rebases.
  const one = new BatchCompletion(['fm:batch-end'], false);
  one.marker('fm:batch-end', marker(3, 0, 10));
  assert.deepEqual(one.marker('fm:batch-end', marker(2, 0, 8)).advance, { batchSeq: 8, rebase: true });
});

/**
 * The markers each of `channels` masters carries, in the order it processes them, over
 * `terms` sequencer terms; `choose(n)` picks one of n. Each term begins by publishing the
 * last committed batch again with its logged marker, then commits its own batches and
 * publishes each on every master, after its predecessor's publishing. All but the last
 * term stop in the middle of publishing their last batch (`partial`: the masters they
 * reached first), and what a term had left may still go out later (`late`): a deposed
 * sequencer publishing while its successors do, in any order with them.
 */
function publications(channels: number, terms: { batches: number[]; partial: boolean[]; late: boolean }[], choose: (n: number) => number) {
  const perChannel: BatchMarker[][] = Array.from({ length: channels }, () => []);
  const late: { channel: number; from: number; marker: BatchMarker }[] = [];
  let last: BatchMarker | undefined;
  terms.forEach(({ batches, partial, late: publishesLate }, termIndex) => {
    const term = termIndex + 1;
    if (last) for (const carried of perChannel) carried.push(last);
    let previousSeq = last?.batchSeq ?? 0;
    batches.forEach((size, index) => {
      const next = marker(term, previousSeq, previousSeq + size);
      const stopsHere = index === batches.length - 1 && termIndex < terms.length - 1;
      perChannel.forEach((carried, channel) => {
        if (!stopsHere || partial[channel] !== false) carried.push(next);
        else if (publishesLate) late.push({ channel, from: carried.length, marker: next });
      });
      previousSeq = next.batchSeq;
      last = next;
    });
  });
  for (const { channel, from, marker: m } of late.reverse()) {
    const carried = perChannel[channel]!;
    carried.splice(from + choose(carried.length - from + 1), 0, m);
  }
  return { perChannel, last };
}

test('on a cluster, however the masters\' channels interleave, across takeovers and late publishing by deposed sequencers: no gap, nothing received early, the last batch received at the end', () => {
  const termArbitrary = fc.record({
    batches: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 5 }),
    partial: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    late: fc.boolean(),
  });
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4 }), fc.array(termArbitrary, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 400 }),
    (channels, terms, choices) => {
      let choice = 0;
      const choose = (n: number) => (choices[choice++] ?? 0) % n;
      const { perChannel, last } = publications(channels, terms, choose);
      const names = Array.from({ length: channels }, (_, index) => `ch${index}`);
      const completion = new BatchCompletion(names, true);
      completion.sync(0);
      const highest = new Array<number>(channels).fill(0);
      for (;;) {
        // The next marker to arrive: the masters' connections to the gateway keep no order among them.
        const open = perChannel.flatMap((carried, channel) => (carried.length > 0 ? [channel] : []));
        if (open.length === 0) break;
        const channel = open[choose(open.length)]!;
        const m = perChannel[channel]!.shift()!;
        highest[channel] = Math.max(highest[channel]!, m.batchSeq);
        const outcome = completion.marker(names[channel]!, m);
        assert.equal(outcome.gapAfter, undefined, `no gap on ch${channel} at ${JSON.stringify(m)}`);
        if (outcome.advance) {
          for (let c = 0; c < channels; c++) {
            assert.ok(highest[c]! >= outcome.advance.batchSeq, `batch ${outcome.advance.batchSeq} received before its marker came on ch${c}`);
          }
        }
      }
      assert.equal(completion.lastBatch, last?.batchSeq ?? 0, 'the last batch is received');
    },
  ), { numRuns: 3000 });
});
