import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runVerification, type VerificationOptions, type VerificationReport } from '../src/index.ts';
import { startInMemoryServer, type Fault } from './support/in-memory-server.ts';

async function verifyAgainstInMemoryServer(
  fault: Fault | undefined,
  overrides: Partial<VerificationOptions> = {},
): Promise<VerificationReport> {
  const server = await startInMemoryServer(fault);
  try {
    return await runVerification({
      eventHost: '127.0.0.1',
      eventPort: server.eventPort,
      clientHost: '127.0.0.1',
      clientPorts: [server.clientPort],
      totalEvents: 5000,
      concurrencyLevel: 20,
      numberOfUsers: 60,
      randomSeed: 666,
      timeoutMs: 1500,
      maxEventSourceBatchSize: 100,
      lineEnding: '\r\n',
      sourceStartDelayMs: 100,
      graceMs: 200,
      ...overrides,
    });
  } finally {
    await server.close();
  }
}

describe('verification against the in-memory reference server', () => {
  for (const lineEnding of ['\r\n', '\n'] as const) {
    it(`passes against a correct server (events end with ${JSON.stringify(lineEnding)})`, async () => {
      const report = await verifyAgainstInMemoryServer(undefined, { lineEnding, timeoutMs: 5000 });
      assert.deepEqual(report.failures, []);
      assert.equal(report.ok, true);
      assert.equal(report.eventsSent, 5000);
      assert.ok(report.notificationsExpected > 1000, `only ${report.notificationsExpected} notifications expected`);
      assert.equal(report.notificationsReceived, report.notificationsExpected);
      assert.ok(report.latencyMs.samples > 0);
    });
  }

  it('sends events in order when the batch size is 1', async () => {
    const report = await verifyAgainstInMemoryServer(undefined, { maxEventSourceBatchSize: 1, totalEvents: 1000 });
    assert.deepEqual(report.failures, []);
  });

  const faults: Array<[Fault['kind'], RegExp]> = [
    ['drop', /missing "\d+\|/],
    ['reorder', /out of order: received "\d+\|/],
    ['duplicate', /doubled notification "\d+\|/],
    ['extra', /extra notification "\d+\|/],
  ];
  for (const [kind, problem] of faults) {
    it(`fails and names the problem when the server injects a ${kind}`, async () => {
      const report = await verifyAgainstInMemoryServer({ kind, nth: 500 });
      assert.equal(report.ok, false);
      assert.ok(
        report.failures.some((failure) => problem.test(failure)),
        `no failure matches ${problem}: ${JSON.stringify(report.failures)}`,
      );
    });
  }

  it('fails when the server closes a client, unless clients reconnect; then it counts the reconnection', async () => {
    const strict = await verifyAgainstInMemoryServer({ kind: 'disconnect', nth: 500 });
    assert.equal(strict.ok, false);
    assert.match(strict.failures.join('\n'), /connection closed by the server with notifications still expected/);

    const reconnecting = await verifyAgainstInMemoryServer({ kind: 'disconnect', nth: 500 }, { reconnect: true });
    assert.deepEqual(reconnecting.failures, []);
    assert.equal(reconnecting.clientsReconnected, 1);
    assert.ok(reconnecting.notificationsMissedOffline >= 1, 'the notification that closed the connection was missed');
    assert.equal(reconnecting.notificationsReceived + reconnecting.notificationsMissedOffline, reconnecting.notificationsExpected);
  });

  it('still catches a wrong server when clients reconnect', async () => {
    const report = await verifyAgainstInMemoryServer({ kind: 'reorder', nth: 500 }, { reconnect: true });
    assert.match(report.failures.join('\n'), /out of order: received "\d+\|/);
    assert.equal(report.clientsReconnected, 0);
  });

  it('fails without throwing when nothing listens', async () => {
    const server = await startInMemoryServer();
    const { eventPort, clientPort } = server;
    await server.close();
    const report = await verifyAgainstInMemoryServer(undefined, { eventPort, clientPorts: [clientPort] });
    assert.equal(report.ok, false);
    assert.match(report.failures.join('\n'), /cannot connect/);
  });
});
