import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fitsOnePart, loggedDelivery, partsOf } from '../src/core/publication.ts';
import { decodeLoggedDeliveries } from '@follower-maze/shared';

const delivery = fc.tuple(fc.integer({ min: 1, max: 1_000_000 }), fc.string({ minLength: 1, maxLength: 300, unit: 'binary-ascii' }))
  .map(([userId, message]) => ({ userId, text: loggedDelivery(userId, message), message }));

test('parts keep every delivery whole and in order, within the count and, but for a single large one, the bytes', () => {
  fc.assert(fc.property(
    fc.array(delivery, { maxLength: 200 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 2000 }),
    (deliveries, maxDeliveries, maxBytes) => {
      const parts = partsOf(deliveries.map((d) => d.text), maxDeliveries, maxBytes);
      assert.equal(parts.join(''), deliveries.map((d) => d.text).join(''));
      const decoded = parts.map((part) => [...decodeLoggedDeliveries(Buffer.from(part, 'latin1'))]);
      assert.deepEqual(decoded.flat().map(([userId, message]) => [userId, message.toString('latin1')]),
        deliveries.map((d) => [d.userId, d.message]));
      for (const part of decoded) {
        assert.ok(part.length >= 1 && part.length <= maxDeliveries);
      }
      parts.forEach((part, index) => {
        const single = decoded[index]!.length === 1;
        assert.ok(single || part.length <= maxBytes, `a part of ${part.length} bytes holds several deliveries`);
      });
    },
  ));
});

test('no deliveries make no part', () => {
  assert.deepEqual(partsOf([]), []);
});

test('fitsOnePart says whether partsOf makes one part at most, from the count and the bytes alone', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 2500 }), (lengths) => {
    const deliveries = lengths.map((length, index) => loggedDelivery(index, 'x'.repeat(length)));
    const bytes = deliveries.reduce((sum, delivery) => sum + delivery.length, 0);
    assert.equal(fitsOnePart(deliveries.length, bytes), partsOf(deliveries).length <= 1);
  }), { numRuns: 50 });
});
