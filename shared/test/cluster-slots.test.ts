import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CLUSTER_SLOTS, hashTagForSlot, keySlot } from '../src/cluster-slots.ts';

test('keySlot: the CRC16 check value of Redis Cluster\'s specification, and known slots', () => {
  assert.equal(keySlot('123456789'), 0x31c3);
  // As `CLUSTER KEYSLOT` answers on Redis 7.
  assert.equal(keySlot('foo'), 12182);
  assert.equal(keySlot('fm:user:1'), 14760);
  assert.equal(keySlot('fm:user:2'), 2507);
});

test('keySlot: only the first non-empty hash tag counts', () => {
  fc.assert(fc.property(fc.string(), fc.string({ minLength: 1 }).filter((tag) => !tag.includes('}')), fc.string(), (before, tag, after) => {
    const clean = before.replace(/[{}]/g, '');
    assert.equal(keySlot(`${clean}{${tag}}${after}`), keySlot(tag));
  }));
  assert.equal(keySlot('a{}b'), keySlot('a{}b'.slice(0)), 'an empty tag hashes the whole name');
  assert.notEqual(keySlot('a{}b'), keySlot(''));
});

test('hashTagForSlot: a tag that puts a name in every slot', () => {
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    assert.equal(keySlot(`fm:batch-end:{${hashTagForSlot(slot)}}`), slot);
  }
});
