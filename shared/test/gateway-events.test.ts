import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeGatewayEvent, encodeGatewayEvent, type GatewayEvent } from '../src/gateway-events.ts';

const gatewayId = fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/);
const userId = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });

const event: fc.Arbitrary<GatewayEvent> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('join' as const, 'leave' as const),
    gatewayId,
    // Up to a chunk of users, as a gateway packs them.
    userIds: fc.array(userId, { minLength: 1, maxLength: 1000 }),
  }),
  fc.record({ kind: fc.constant('ack' as const), gatewayId, batchSeq: fc.nat() }),
  fc.record({ kind: fc.constant('gone' as const), gatewayId }),
);

test('every gateway event round-trips, a packed list of users in its order', () => {
  // fast-check's records have no prototype; the decoded events are plain objects.
  fc.assert(fc.property(event, (original) => assert.deepEqual(decodeGatewayEvent(encodeGatewayEvent(original)), { ...original })));
});

test('a single user\'s join or leave is a list of one, as gateways sent it before lists were packed', () => {
  assert.equal(encodeGatewayEvent({ kind: 'join', gatewayId: 'g', userIds: [42] }), 'join g 42');
  assert.equal(encodeGatewayEvent({ kind: 'leave', gatewayId: 'g', userIds: [42] }), 'leave g 42');
  assert.deepEqual(decodeGatewayEvent('leave g 42'), { kind: 'leave', gatewayId: 'g', userIds: [42] });
  assert.equal(encodeGatewayEvent({ kind: 'join', gatewayId: 'g', userIds: [3, 1, 2] }), 'join g 3,1,2');
});

test('a join or leave whose list holds anything but user ids is unreadable as a whole', () => {
  for (const message of ['join g', 'join g ', 'join g 1,,2', 'join g 1,', 'join g ,1', 'join g 0', 'join g -1', 'join g 01',
    'leave g 1,x', 'leave g 1.5', 'join g 99999999999999999', 'join  1', 'part g 1', '']) {
    assert.equal(decodeGatewayEvent(message), undefined, JSON.stringify(message));
  }
});

test('any message decodes to a well-formed event or to nothing, never throws', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (message) => {
    const decoded = decodeGatewayEvent(message);
    if (decoded?.kind === 'join' || decoded?.kind === 'leave') {
      assert.ok(decoded.userIds.length > 0 && decoded.userIds.every((id) => Number.isSafeInteger(id) && id > 0), message);
    }
  }));
});
