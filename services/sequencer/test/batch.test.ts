import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseEvent, type MazeEvent } from '@follower-maze/shared';
import { Batch, type CommitLimits } from '../src/core/batch.ts';
import { ReorderBuffer } from '../src/core/reorder-buffer.ts';
import { Router } from '../src/core/router.ts';

const USERS = 30;
const user = fc.integer({ min: 1, max: USERS });
/** Follows and unfollows mostly, so that batches touch many follow sets; the other kinds too. */
const eventText = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(user, user).map(([from, to]) => `F|${from}|${to}`) },
  { weight: 2, arbitrary: fc.tuple(user, user).map(([from, to]) => `U|${from}|${to}`) },
  { weight: 1, arbitrary: fc.tuple(user, user).map(([from, to]) => `P|${from}|${to}`) },
  { weight: 1, arbitrary: user.map((from) => `S|${from}`) },
  { weight: 1, arbitrary: fc.constant('B') },
);
const limits: fc.Arbitrary<CommitLimits> = fc.record({
  maxEvents: fc.integer({ min: 1, max: 50 }),
  maxNotifications: fc.integer({ min: 1, max: 200 }),
  maxBytes: fc.integer({ min: 1, max: 5000 }),
  maxFollowKeys: fc.integer({ min: 1, max: 10 }),
});

function event(seq: number, text: string): MazeEvent {
  const parsed = parseEvent(`${seq}|${text}`);
  assert.ok(parsed.ok, text);
  return parsed.event;
}

/** Releases every event as the sequencer does: batch after batch, each cut by the limits. */
function batchesOf(texts: readonly string[], online: readonly number[], commitLimits: CommitLimits): { batches: Batch[]; router: Router } {
  const router = new Router();
  for (const userId of online) router.join('g1', userId);
  const reorder = new ReorderBuffer<MazeEvent>(texts.length + 1, 1);
  texts.forEach((text, index) => reorder.insert(index + 1, event(index + 1, text)));
  const batches: Batch[] = [];
  while (reorder.ready) {
    const batch = new Batch();
    reorder.release((released) => router.route(released, batch), () => batch.hasRoom(commitLimits));
    batches.push(batch);
  }
  return { batches, router };
}

test('a batch changes at most maxFollowKeys follow sets, is cut only at a limit, and the batches together make the graph', () => {
  fc.assert(fc.property(
    fc.array(eventText, { minLength: 1, maxLength: 300 }), fc.uniqueArray(user, { maxLength: USERS }), limits,
    (texts, online, commitLimits) => {
      const { batches, router } = batchesOf(texts, online, commitLimits);
      assert.equal(batches.reduce((events, batch) => events + batch.events, 0), texts.length, 'every event is in one batch');
      const graph = new Map<number, Set<number>>();
      batches.forEach((batch, index) => {
        assert.ok(batch.edgeChanges.size <= commitLimits.maxFollowKeys, `${batch.edgeChanges.size} follow sets`);
        assert.ok(batch.events <= commitLimits.maxEvents);
        if (index < batches.length - 1) assert.equal(batch.hasRoom(commitLimits), false, 'cut only when a limit was reached');
        for (const [to, changes] of batch.edgeChanges) {
          const followers = graph.get(to) ?? new Set();
          for (const [from, follows] of changes) {
            if (follows) followers.add(from);
            else followers.delete(from);
          }
          graph.set(to, followers);
        }
      });
      for (let to = 1; to <= USERS; to++) {
        assert.deepEqual([...(graph.get(to) ?? [])].sort(), [...(router.graph.followersOf(to) ?? [])].sort(), `followers of ${to}`);
      }
    },
  ));
});

test('follows of many users are cut into batches of maxFollowKeys follow sets, whatever the other limits allow', () => {
  const texts = Array.from({ length: 25 }, (_, index) => `F|1|${index + 2}`);
  const { batches } = batchesOf(texts, [], { maxEvents: 10_000, maxNotifications: 50_000, maxBytes: 1 << 20, maxFollowKeys: 10 });
  assert.deepEqual(batches.map((batch) => batch.edgeChanges.size), [10, 10, 5]);
});
