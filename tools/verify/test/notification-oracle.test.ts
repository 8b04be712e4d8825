import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventType, type Event } from '../src/event.ts';
import { NotificationOracle } from '../src/notification-oracle.ts';

const NUMBER_OF_USERS = 10;

const follow = (seq: number, from: number, to: number): Event => ({ seq, type: EventType.Follow, from, to });
const unfollow = (seq: number, from: number, to: number): Event => ({ seq, type: EventType.Unfollow, from, to });
const broadcast = (seq: number): Event => ({ seq, type: EventType.Broadcast, from: 0, to: 0 });
const message = (seq: number, from: number, to: number): Event => ({ seq, type: EventType.PrivateMessage, from, to });
const status = (seq: number, from: number): Event => ({ seq, type: EventType.StatusUpdate, from, to: 0 });

/** Applies the events in order; returns, per event, the sorted user ids notified. */
function notifications(connected: number[], events: Event[]): number[][] {
  const oracle = new NotificationOracle(connected, NUMBER_OF_USERS);
  const recipients = new Uint32Array(oracle.maxRecipients);
  return events.map((event) => Array.from(recipients.subarray(0, oracle.apply(event, recipients))).sort((a, b) => a - b));
}

describe('NotificationOracle', () => {
  it('notifies only the followed user of a follow, and nobody of an unfollow', () => {
    assert.deepEqual(notifications([1, 2], [follow(1, 1, 2), unfollow(2, 1, 2)]), [[2], []]);
  });

  it('notifies the followers of the sender of a status update, as of that point of the sequence', () => {
    const events = [follow(1, 1, 3), follow(2, 2, 3), status(3, 3), unfollow(4, 1, 3), status(5, 3)];
    assert.deepEqual(notifications([1, 2, 3], events), [[3], [3], [1, 2], [], [2]]);
  });

  it('changes the graph for an offline user without notifying it', () => {
    // 5 is offline: it gets nothing for being followed, but its followers hear of its status.
    const events = [follow(1, 1, 5), status(2, 5), follow(3, 5, 1), status(4, 1)];
    assert.deepEqual(notifications([1, 2], events), [[], [1], [1], []]);
  });

  it('broadcasts to the connected users only', () => {
    assert.deepEqual(notifications([2, 7, 9], [broadcast(1)]), [[2, 7, 9]]);
  });

  it('delivers a private message to a connected recipient only', () => {
    assert.deepEqual(notifications([1, 2], [message(1, 1, 2), message(2, 2, 4)]), [[2], []]);
  });

  it('treats an unfollow of a non-follow and a repeated follow as harmless', () => {
    const events = [unfollow(1, 1, 2), follow(2, 1, 2), follow(3, 1, 2), status(4, 2), unfollow(5, 1, 2), status(6, 2)];
    assert.deepEqual(notifications([1, 2], events), [[], [2], [2], [1], [], []]);
  });
});
