import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventType, newEvent } from '../src/event.ts';
import { ExpectedQueue } from '../src/expected-queue.ts';

function status(seq: number) {
  return { seq, type: EventType.StatusUpdate, from: seq % 7, to: 0 };
}

describe('ExpectedQueue', () => {
  it('keeps FIFO order and finds entries while growing across the ring boundary', () => {
    const queue = new ExpectedQueue();
    let nextIn = 1;
    let nextOut = 1;
    // Interleave pushes and drops so that growth happens with a wrapped ring.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 30; i++) queue.push(status(nextIn++));
      queue.drop(10);
      nextOut += 10;
    }
    assert.equal(queue.size, nextIn - nextOut);
    assert.equal(queue.seqAt(0), nextOut);
    assert.equal(queue.indexOf(nextOut + 123), 123);
    assert.equal(queue.indexOf(nextOut - 1), -1);
    assert.equal(queue.indexOf(nextIn), -1);
    const entry = newEvent();
    queue.read(5, entry);
    assert.deepEqual(entry, status(nextOut + 5));
  });
});
