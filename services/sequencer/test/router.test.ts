import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseEvent, type MazeEvent } from '@follower-maze/shared';
import { Batch } from '../src/core/batch.ts';
import { Router } from '../src/core/router.ts';

function event(payload: string): MazeEvent {
  const parsed = parseEvent(payload);
  assert.ok(parsed.ok, payload);
  return parsed.event;
}

function route(router: Router, payloads: string[]): Batch {
  const batch = new Batch();
  for (const payload of payloads) router.route(event(payload), batch);
  return batch;
}

function delivered(batch: Batch): Record<number, string[]> {
  return Object.fromEntries(batch.notifications);
}

test('follow notifies only the followed user, and only if online', () => {
  const router = new Router();
  router.join('g1', 50);
  assert.deepEqual(delivered(route(router, ['1|F|60|50', '2|F|50|60'])), { 50: ['1|F|60|50'] });
});

test('a follow of an offline user changes the graph all the same', () => {
  const router = new Router();
  router.join('g1', 7);
  const batch = route(router, ['1|F|7|99', '2|S|99']);
  assert.deepEqual(delivered(batch), { 7: ['2|S|99'] });
  assert.deepEqual([...router.graph.followersOf(99) ?? []], [7]);
  assert.deepEqual(Object.fromEntries(batch.edgeChanges.get(99) ?? []), { 7: true });
});

test('a status update after an unfollow does not reach the former follower', () => {
  const router = new Router();
  router.join('g1', 1);
  router.join('g1', 2);
  const batch = route(router, ['1|F|1|3', '2|F|2|3', '3|S|3', '4|U|1|3', '5|S|3']);
  assert.deepEqual(delivered(batch), { 1: ['3|S|3'], 2: ['3|S|3', '5|S|3'] });
  assert.deepEqual(Object.fromEntries(batch.edgeChanges.get(3) ?? []), { 1: false, 2: true }, 'only the net change of an edge is kept');
});

test('unfollow notifies nobody; private message reaches only the to-user', () => {
  const router = new Router();
  for (const user of [1, 2, 3]) router.join('g1', user);
  assert.deepEqual(delivered(route(router, ['1|U|1|2', '2|P|1|2'])), { 2: ['2|P|1|2'] });
});

test('broadcast reaches every online user once, whichever gateways hold them', () => {
  const router = new Router();
  router.join('g1', 1);
  router.join('g2', 1);
  router.join('g2', 2);
  assert.deepEqual(delivered(route(router, ['1|B'])), { 1: ['1|B'], 2: ['1|B'] });
  router.dropGateway('g2');
  assert.deepEqual(delivered(route(router, ['2|B'])), { 1: ['2|B'] }, 'user 1 is still on g1');
  router.leave('g1', 1);
  assert.deepEqual(delivered(route(router, ['3|B'])), {});
});

test('a follower who comes online later receives status updates from then on', () => {
  const router = new Router();
  route(router, ['1|F|5|6']);
  assert.deepEqual(delivered(route(router, ['2|S|6'])), {});
  router.join('g1', 5);
  assert.deepEqual(delivered(route(router, ['3|S|6'])), { 5: ['3|S|6'] });
});

/** A naive model: the protocol's rules computed from scratch for every event. */
function naiveRecipients(edges: Set<string>, online: Set<number>, e: MazeEvent): number[] {
  switch (e.type) {
    case 'F':
    case 'P':
      return online.has(e.to) ? [e.to] : [];
    case 'U':
      return [];
    case 'B':
      return [...online];
    case 'S':
      return [...online].filter((user) => edges.has(`${user}>${e.from}`));
  }
}

test('matches a naive model for any mix of events and presence changes', () => {
  const users = fc.integer({ min: 1, max: 6 });
  const step = fc.oneof(
    fc.record({ kind: fc.constant('event' as const), type: fc.constantFrom('F', 'U', 'B', 'P', 'S'), from: users, to: users }),
    fc.record({ kind: fc.constantFrom('join' as const, 'leave' as const), gateway: fc.constantFrom('a', 'b'), user: users }),
    fc.record({ kind: fc.constant('drop' as const), gateway: fc.constantFrom('a', 'b') }),
  );
  fc.assert(fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
    const router = new Router();
    const edges = new Set<string>();
    const held = { a: new Set<number>(), b: new Set<number>() };
    let seq = 0;
    for (const s of steps) {
      if (s.kind === 'drop') {
        router.dropGateway(s.gateway);
        held[s.gateway].clear();
        continue;
      }
      if (s.kind !== 'event') {
        if (s.kind === 'join') router.join(s.gateway, s.user);
        else router.leave(s.gateway, s.user);
        held[s.gateway][s.kind === 'join' ? 'add' : 'delete'](s.user);
        continue;
      }
      seq++;
      const payload = s.type === 'B' ? `${seq}|B` : s.type === 'S' ? `${seq}|S|${s.from}` : `${seq}|${s.type}|${s.from}|${s.to}`;
      const e = event(payload);
      if (e.type === 'F') edges.add(`${e.from}>${e.to}`);
      if (e.type === 'U') edges.delete(`${e.from}>${e.to}`);
      const online = new Set([...held.a, ...held.b]);
      const batch = new Batch();
      router.route(e, batch);
      const got = [...batch.notifications.keys()].sort();
      assert.deepEqual(got, naiveRecipients(edges, online, e).sort(), `step ${seq}: ${payload}`);
    }
  }));
});
