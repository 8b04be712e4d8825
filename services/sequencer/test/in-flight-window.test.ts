import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightWindow } from '../src/core/in-flight-window.ts';

test('counts bytes per gateway until acknowledged', () => {
  const window = new InFlightWindow();
  window.record(10, new Map([['a', 100], ['b', 5]]));
  window.record(20, new Map([['a', 50]]));
  assert.equal(window.largest(), 150);
  window.acknowledge('a', 10);
  assert.equal(window.largest(), 50);
  window.acknowledge('a', 25);
  assert.equal(window.largest(), 5);
  window.forget('b');
  assert.equal(window.largest(), 0);
});

test('an acknowledgement that overtook its batch clears it with the next one', () => {
  const window = new InFlightWindow();
  window.acknowledge('a', 10);
  window.record(10, new Map([['a', 100]]));
  assert.equal(window.largest(), 100);
  window.acknowledge('a', 10);
  assert.equal(window.largest(), 0);
});
