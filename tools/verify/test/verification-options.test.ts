import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logLevelFromEnv, optionsFromEnv } from '../src/verification-options.ts';

describe('optionsFromEnv', () => {
  it('uses the defaults of protocol.md', () => {
    assert.deepEqual(optionsFromEnv({}), {
      eventHost: '127.0.0.1',
      eventPort: 9090,
      clientHost: '127.0.0.1',
      clientPorts: [9099],
      totalEvents: 10_000_000,
      concurrencyLevel: 100,
      numberOfUsers: 1000,
      randomSeed: 666,
      timeoutMs: 20_000,
      maxEventSourceBatchSize: 100,
      lineEnding: '\r\n',
    });
    assert.equal(logLevelFromEnv({}), 'info');
  });

  it('derives numberOfUsers from concurrencyLevel and lets clientListenerPorts override clientListenerPort', () => {
    const options = optionsFromEnv({ concurrencyLevel: '20', clientListenerPort: '7000', clientListenerPorts: '9099, 9100', lineEnding: 'lf' });
    assert.equal(options.numberOfUsers, 200);
    assert.deepEqual(options.clientPorts, [9099, 9100]);
    assert.equal(options.lineEnding, '\n');
  });

  it('names the variable and a valid example when a value is invalid', () => {
    assert.throws(() => optionsFromEnv({ eventListenerPort: 'x' }), /invalid eventListenerPort="x".*e\.g\. eventListenerPort=9090/);
    assert.throws(() => optionsFromEnv({ totalEvents: '1.5' }), /invalid totalEvents="1\.5".*e\.g\. totalEvents=10000000/);
    assert.throws(() => optionsFromEnv({ concurrencyLevel: '50', numberOfUsers: '10' }), /invalid numberOfUsers="10".*e\.g\. numberOfUsers=500/);
    assert.throws(() => optionsFromEnv({ clientListenerPorts: '9099,' }), /invalid clientListenerPorts.*e\.g\. clientListenerPorts=9099,9100/);
    assert.throws(() => optionsFromEnv({ lineEnding: 'cr' }), /invalid lineEnding="cr".*e\.g\. lineEnding=crlf/);
    assert.throws(() => logLevelFromEnv({ logLevel: 'loud' }), /invalid logLevel="loud".*e\.g\. logLevel=info/);
  });
});
