import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { drawConnectedUsers } from '../src/connected-users.ts';

describe('drawConnectedUsers', () => {
  it('draws distinct ids within 1..numberOfUsers, the same for the same seed', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 300 }), (seed, count, spare) => {
        const numberOfUsers = count + spare;
        const ids = drawConnectedUsers(seed, count, numberOfUsers);
        assert.equal(ids.length, count);
        assert.equal(new Set(ids).size, count);
        assert.ok(ids.every((id) => id >= 1 && id <= numberOfUsers));
        assert.deepEqual(drawConnectedUsers(seed, count, numberOfUsers), ids);
      }),
    );
  });
});
