import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serializeError } from '../src/logger.ts';
import { redactUrl } from '../src/redact-url.ts';

test('a URL is shown with its password as ***, its user and the rest as they are', () => {
  assert.equal(redactUrl('redis://:s3cret@127.0.0.1:6390'), 'redis://:***@127.0.0.1:6390');
  assert.equal(redactUrl('rediss://fm:s3cret@redis.example:6380/2'), 'rediss://fm:***@redis.example:6380/2');
  assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  assert.equal(redactUrl('redis://fm@127.0.0.1:6379'), 'redis://fm@127.0.0.1:6379');
  assert.equal(redactUrl('not a url://fm:s3cret@host'), 'not a url://***@host', 'what is not a URL loses what may be credentials');
});

test('no password, however written, survives redaction', () => {
  const secret = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' });
  fc.assert(fc.property(secret, fc.constantFrom('redis', 'rediss'), fc.constantFrom('', 'fm'), (password, scheme, user) => {
    const url = `${scheme}://${user}:${encodeURIComponent(password)}@redis.example:6379/0`;
    assert.equal(redactUrl(url), `${scheme}://${user}:***@redis.example:6379/0`);
  }), { numRuns: 1000 });
});

test('a logged error keeps the name of the command ioredis attaches, not its arguments (a refused HELLO carries the password)', () => {
  const error = Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), {
    command: { name: 'hello', args: ['3', 'AUTH', 'default', 's3cret'] },
  });
  const serialized = serializeError(error);
  assert.deepEqual(serialized['command'], { name: 'hello' });
  assert.equal(serialized['message'], error.message);
  assert.ok(!JSON.stringify(serialized).includes('s3cret'));
  assert.equal(serializeError(new Error('plain'))['command'], undefined);
});
