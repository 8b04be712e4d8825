import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventType, type Event } from '../src/event.ts';
import { SeededRandom } from '../src/seeded-random.ts';
import { ShuffledBatchEncoder, type EventFeed, type LineEnding } from '../src/shuffled-batch-encoder.ts';

/** Broadcasts 1..total, in order. */
function broadcasts(total: number): EventFeed {
  let seq = 0;
  return {
    next(into: Event): boolean {
      if (seq === total) return false;
      Object.assign(into, { seq: ++seq, type: EventType.Broadcast, from: 0, to: 0 });
      return true;
    },
  };
}

function encodeAll(total: number, batchSize: number, lineEnding: LineEnding): string {
  const encoder = new ShuffledBatchEncoder(broadcasts(total), batchSize, new SeededRandom(1), lineEnding);
  let wire = '';
  for (let chunk = encoder.nextChunk(); chunk !== null; chunk = encoder.nextChunk()) wire += Buffer.from(chunk).toString('latin1');
  return wire;
}

describe('ShuffledBatchEncoder', () => {
  it('shuffles within each batch only and ends every line as asked', () => {
    const batchSize = 100;
    const wire = encodeAll(25_050, batchSize, '\r\n');
    assert.ok(wire.endsWith('\r\n'));
    const seqs = wire.slice(0, -2).split('\r\n').map((line) => Number(line.split('|')[0]));
    assert.equal(seqs.length, 25_050);
    for (let start = 0; start < seqs.length; start += batchSize) {
      const batch = seqs.slice(start, start + batchSize);
      const sorted = [...batch].sort((a, b) => a - b);
      assert.deepEqual(sorted, Array.from({ length: batch.length }, (_, index) => start + index + 1));
    }
    assert.notDeepEqual(seqs, [...seqs].sort((a, b) => a - b), 'nothing was shuffled');
  });

  it('sends in order with batches of 1, with bare LF when asked', () => {
    assert.equal(encodeAll(3, 1, '\n'), '1|B\n2|B\n3|B\n');
  });
});
