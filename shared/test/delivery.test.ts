import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDelivery, encodeDelivery, notificationsIn } from '../src/delivery.ts';

test('a delivery body holds one notification per CRLF', () => {
  assert.equal(notificationsIn(Buffer.from('')), 0);
  assert.equal(notificationsIn(Buffer.from('1|B\r\n')), 1);
  const delivery = decodeDelivery(Buffer.from(encodeDelivery(1, ['4|F|9|7', '5|B', '1234|P|3|7'])))!;
  assert.equal(notificationsIn(delivery.body), 3);
});
