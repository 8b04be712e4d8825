import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientVerifier } from '../src/client-verifier.ts';
import { EventType, type Event } from '../src/event.ts';
import { FailureLog } from '../src/failure-log.ts';
import { LatencyTracker } from '../src/latency-tracker.ts';
import { RunTally } from '../src/run-tally.ts';

const USER_ID = 7;
const status = (seq: number, from: number): Event => ({ seq, type: EventType.StatusUpdate, from, to: 0 });

/** A verifier for user 7 expecting status updates 1..count (from user 3), on a clock the test controls. */
function verifierExpecting(count: number) {
  const clock = { now: 0 };
  const failures = new FailureLog();
  const tally = new RunTally();
  const verifier = new ClientVerifier(USER_ID, { failures, tally, latency: new LatencyTracker(() => clock.now), now: () => clock.now });
  for (let seq = 1; seq <= count; seq++) verifier.expect(status(seq, 3));
  const receive = (text: string): void => verifier.receive(Buffer.from(text, 'latin1'), clock.now);
  return { verifier, failures, tally, clock, receive };
}

describe('ClientVerifier', () => {
  it('accepts the expected notifications in order', () => {
    const { verifier, failures, tally, receive } = verifierExpecting(3);
    receive('1|S|3\r\n2|S');
    receive('|3\r\n3|S|3\r\n');
    verifier.finish();
    assert.deepEqual(failures.summary(), []);
    assert.equal(tally.outstanding, 0);
    assert.equal(tally.notificationsReceived, 3);
  });

  it('reports a wrong payload byte for byte', () => {
    const { failures, receive } = verifierExpecting(1);
    receive('1|S|03\r\n');
    assert.deepEqual(failures.summary(), [`client of user ${USER_ID}: wrong payload for sequence 1: expected "1|S|3", received "1|S|03"`]);
  });

  it('reports a line without CRLF as malformed but still checks it', () => {
    const { failures, tally, receive } = verifierExpecting(1);
    receive('1|S|3\n');
    assert.match(failures.summary().join(), /malformed notification "1\|S\|3": does not end with \\r\\n/);
    assert.equal(tally.outstanding, 0);
  });

  it('reports a line without a sequence number as malformed', () => {
    const { failures, receive } = verifierExpecting(1);
    receive('hello\r\n');
    assert.match(failures.summary().join(), /malformed notification "hello": no sequence number/);
  });

  it('tells a late notification (out of order) from a missing one', () => {
    const late = verifierExpecting(3);
    late.receive('2|S|3\r\n1|S|3\r\n3|S|3\r\n');
    late.verifier.finish();
    assert.deepEqual(late.failures.summary(), [`client of user ${USER_ID}: out of order: received "1|S|3" after "2|S|3"`]);

    const lost = verifierExpecting(3);
    lost.receive('2|S|3\r\n3|S|3\r\n');
    assert.equal(lost.failures.count, 0, 'a skipped notification may still arrive until the run is over');
    lost.verifier.finish();
    assert.deepEqual(lost.failures.summary(), [`client of user ${USER_ID}: missing "1|S|3": never received ("2|S|3" came in its place)`]);
  });

  it('reports doubled and extra notifications', () => {
    const { failures, receive } = verifierExpecting(2);
    receive('1|S|3\r\n1|S|3\r\n2|S|3\r\n9|B\r\n');
    assert.deepEqual(failures.summary(), [
      `client of user ${USER_ID}: doubled notification "1|S|3": received twice in a row`,
      `client of user ${USER_ID}: extra notification "9|B": not expected for this user (or already received)`,
    ]);
  });

  it('times out only after waiting longer than the timeout for an expected notification', () => {
    const { verifier, failures, clock, receive } = verifierExpecting(2);
    clock.now = 900;
    receive('1|S|3\r\n');
    clock.now = 1800;
    assert.equal(verifier.checkTimeout(clock.now, 1000), false);
    clock.now = 1901;
    assert.equal(verifier.checkTimeout(clock.now, 1000), true);
    assert.match(failures.summary().join(), /missing "2\|S\|3": nothing received for 1000 ms \(timeout\)/);
  });

  it('records the latency of sampled sequence numbers', () => {
    const clock = { now: 0 };
    const latency = new LatencyTracker(() => clock.now);
    const verifier = new ClientVerifier(USER_ID, { failures: new FailureLog(), tally: new RunTally(), latency, now: () => clock.now });
    verifier.expect(status(64, 3));
    latency.sent(64, 1);
    clock.now = 5;
    verifier.receive(Buffer.from('64|S|3\r\n'), clock.now);
    assert.equal(latency.histogram.samples, 1);
    assert.ok(Math.abs(latency.histogram.percentileMs(0.5) - 5) < 0.1);
  });
});
