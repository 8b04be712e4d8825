import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClientVerifier } from '../src/client-verifier.ts';
import { EventType } from '../src/event.ts';
import { FailureLog } from '../src/failure-log.ts';
import { LatencyTracker } from '../src/latency-tracker.ts';
import { REJOIN_SETTLE_MS } from '../src/rejoin-window.ts';
import { RunTally } from '../src/run-tally.ts';

const USER_ID = 7;
const line = (seq: number): string => `${seq}|S|3\r\n`;

/**
 * A verifier for user 7 whose expected notifications are the status updates 1..total
 * of user 3, announced as the test goes (`expectUpTo`), on a clock the test moves.
 */
function reconnectingClient(total: number) {
  const clock = { now: 0 };
  const failures = new FailureLog();
  const tally = new RunTally();
  const verifier = new ClientVerifier(USER_ID, { failures, tally, latency: new LatencyTracker(() => clock.now), now: () => clock.now });
  let expected = 0;
  const expectUpTo = (seq: number): void => {
    for (; expected < Math.min(seq, total); ) verifier.expect({ seq: ++expected, type: EventType.StatusUpdate, from: 3, to: 0 });
  };
  const receive = (text: string): void => verifier.receive(Buffer.from(text, 'latin1'), clock.now);
  /** The connection closes, the id line goes out again at once, and the first notification comes `quietMs` later. */
  const reconnect = (quietMs = 0): void => {
    verifier.disconnected();
    verifier.identified(clock.now);
    clock.now += quietMs;
  };
  /** Ends the run as the run does: what is still awaited times out, then skipped notifications are reported. */
  const finish = (): string[] => {
    verifier.checkTimeout(clock.now + 1e9, 1);
    verifier.finish();
    return failures.summary();
  };
  return { verifier, tally, clock, expectUpTo, receive, reconnect, finish };
}

describe('ClientVerifier of a reconnecting client', () => {
  it('gives up what was routed while offline and checks the new connection from its first notification on', () => {
    const client = reconnectingClient(6);
    client.expectUpTo(6);
    client.receive(line(1) + line(2));
    client.reconnect();
    client.receive(line(4) + line(5) + line(6));
    assert.deepEqual(client.finish(), []);
    assert.equal(client.tally.outstanding, 0);
    assert.equal(client.verifier.reconnects, 1);
    assert.equal(client.verifier.notificationsMissedOffline, 1);
  });

  it('drops the line the closed connection cut off', () => {
    const client = reconnectingClient(4);
    client.expectUpTo(4);
    client.receive(line(1) + '2|S');
    client.reconnect();
    client.receive(line(3) + line(4));
    assert.deepEqual(client.finish(), []);
  });

  it('reports a gap after the first notification of a new connection', () => {
    const client = reconnectingClient(6);
    client.expectUpTo(6);
    client.receive(line(1));
    client.reconnect();
    client.receive(line(3) + line(5) + line(6));
    assert.deepEqual(client.finish(), [`client of user ${USER_ID}: missing "4|S|3": never received ("5|S|3" came in its place)`]);
  });

  it('reports a notification received again on the new connection', () => {
    const client = reconnectingClient(4);
    client.expectUpTo(4);
    client.receive(line(1) + line(2));
    client.reconnect();
    client.receive(line(2) + line(3) + line(4));
    assert.deepEqual(client.finish(), [`client of user ${USER_ID}: doubled notification "2|S|3": received twice in a row`]);
  });

  it('reports a notification given up as missed that turns up later', () => {
    const client = reconnectingClient(5);
    client.expectUpTo(5);
    client.receive(line(1));
    client.reconnect();
    client.receive(line(3) + line(2) + line(4) + line(5));
    assert.match(client.finish().join('\n'), /extra notification "2\|S\|3"/);
  });

  it('waits neither the timeout nor the end of the run for what may have been lost, but for what came after the id line', () => {
    const client = reconnectingClient(4);
    client.expectUpTo(2);
    client.receive(line(1));
    client.reconnect();
    client.expectUpTo(3);
    assert.equal(client.tally.outstanding, 0, 'sequence 2 and 3 may have been routed before the server read the id line again');
    assert.equal(client.verifier.checkTimeout(client.clock.now + 1e6, 1), false);
    client.clock.now += REJOIN_SETTLE_MS;
    client.expectUpTo(4);
    assert.equal(client.tally.outstanding, 1);
    assert.deepEqual(client.finish(), [`client of user ${USER_ID}: missing "4|S|3": nothing received for 1 ms (timeout); notifications still expected: 1`]);
  });

  it('counts as lost what a rejoined client was expected to get while offline and never got', () => {
    const client = reconnectingClient(3);
    client.expectUpTo(3);
    client.receive(line(1));
    client.reconnect();
    assert.deepEqual(client.finish(), []);
    assert.equal(client.verifier.notificationsMissedOffline, 2);
  });
});

/** One connection of a client: the slice [from, to) of its expected notifications, perhaps with a line cut off at its end. */
interface Connection {
  from: number;
  to: number;
  /** From the id line to the first notification: past REJOIN_SETTLE_MS, what is expected meanwhile no longer counts as possibly lost. */
  quietMsBefore: number;
  cutOff: boolean;
}

/** What a correct server may send a reconnecting client: contiguous runs, each at or after where the previous ended, the last to the end. */
const correctDeliveries = fc
  .record({
    total: fc.integer({ min: 1, max: 60 }),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
    quiet: fc.array(fc.constantFrom(0, 10, 2 * REJOIN_SETTLE_MS), { minLength: 4, maxLength: 4 }),
    cutOff: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    lookahead: fc.integer({ min: 0, max: 20 }),
  })
  .map(({ total, cuts, quiet, cutOff, lookahead }) => {
    // An even number of cut points, sorted: [0, c1) [c2, c3) ... [c2k, total), the last one never empty.
    const points = cuts
      .slice(0, cuts.length - (cuts.length % 2))
      .map((cut) => Math.min(total - 1, Math.floor(cut * total)))
      .sort((a, b) => a - b);
    const bounds = [0, ...points, total];
    const connections: Connection[] = [];
    for (let i = 0; i + 1 < bounds.length; i += 2) {
      const last = i + 2 === bounds.length;
      connections.push({
        from: bounds[i]!,
        to: bounds[i + 1]!,
        quietMsBefore: quiet[(i / 2) % quiet.length]!,
        cutOff: !last && cutOff[(i / 2) % cutOff.length]!,
      });
    }
    return { total, connections, lookahead };
  });

type Delivery = { kind: 'line'; seq: number; text: string } | { kind: 'reconnect'; quietMs: number } | { kind: 'partial'; text: string };

function deliveriesOf(connections: readonly Connection[]): Delivery[] {
  const deliveries: Delivery[] = [];
  connections.forEach((connection, index) => {
    if (index > 0) deliveries.push({ kind: 'reconnect', quietMs: connection.quietMsBefore });
    for (let seq = connection.from + 1; seq <= connection.to; seq++) deliveries.push({ kind: 'line', seq, text: line(seq) });
    if (connection.cutOff) deliveries.push({ kind: 'partial', text: line(connection.to + 1).slice(0, 3) });
  });
  return deliveries;
}

/** Feeds the deliveries, announcing each expected notification `lookahead` lines before it arrives; returns the failures. */
function play(total: number, lookahead: number, deliveries: readonly Delivery[]) {
  const client = reconnectingClient(total);
  client.expectUpTo(lookahead);
  for (const delivery of deliveries) {
    client.clock.now += 1;
    if (delivery.kind === 'reconnect') {
      client.reconnect(delivery.quietMs);
      continue;
    }
    if (delivery.kind === 'line') client.expectUpTo(delivery.seq + lookahead);
    client.receive(delivery.text);
  }
  client.expectUpTo(total);
  return { failures: client.finish(), client };
}

describe('ClientVerifier of a reconnecting client, by property', () => {
  it('accepts whatever a correct server may deliver across reconnections', () => {
    fc.assert(
      fc.property(correctDeliveries, ({ total, connections, lookahead }) => {
        const deliveries = deliveriesOf(connections);
        const { failures, client } = play(total, lookahead, deliveries);
        assert.deepEqual(failures, []);
        assert.equal(client.tally.outstanding, 0);
        assert.equal(client.verifier.reconnects, connections.length - 1);
        const received = deliveries.filter((delivery) => delivery.kind === 'line').length;
        assert.equal(received + client.verifier.notificationsMissedOffline, total);
      }),
    );
  });

  it('catches a doubled, reordered, foreign or wrong notification, and a gap inside a connection', () => {
    const mutation = fc.record({ kind: fc.constantFrom('double', 'swap', 'foreign', 'wrong', 'gap'), at: fc.double({ min: 0, max: 1, noNaN: true }) });
    fc.assert(
      fc.property(correctDeliveries, mutation, ({ total, connections, lookahead }, { kind, at }) => {
        const deliveries = deliveriesOf(connections);
        const mutated = mutate(deliveries, kind, at);
        fc.pre(mutated !== undefined);
        assert.notDeepEqual(play(total, lookahead, mutated).failures, [], `${kind} went unnoticed`);
      }),
    );
  });
});

/**
 * One deliberate fault, at the line nearest to `at` where it is a fault: a gap only
 * inside a connection (a new connection may legitimately start later, and one that is
 * closed may legitimately end sooner). Undefined when no line qualifies.
 */
function mutate(deliveries: readonly Delivery[], kind: string, at: number): Delivery[] | undefined {
  const lines = deliveries.flatMap((delivery, index) => (delivery.kind === 'line' ? [index] : []));
  const isLine = (index: number): boolean => deliveries[index]?.kind === 'line';
  const candidates = lines.filter((index) => {
    if (kind === 'swap') return isLine(index + 1);
    if (kind === 'gap') return index > 0 && isLine(index - 1) && isLine(index + 1);
    return true;
  });
  if (candidates.length === 0) return undefined;
  const index = candidates[Math.min(candidates.length - 1, Math.floor(at * candidates.length))]!;
  const target = deliveries[index] as Extract<Delivery, { kind: 'line' }>;
  const copy = [...deliveries];
  switch (kind) {
    case 'double':
      copy.splice(index + 1, 0, target);
      break;
    case 'swap':
      [copy[index], copy[index + 1]] = [copy[index + 1]!, target];
      break;
    case 'foreign':
      copy.splice(index + 1, 0, { kind: 'line', seq: target.seq, text: `${target.seq + 1_000_000}|S|3\r\n` });
      break;
    case 'wrong':
      copy[index] = { ...target, text: `${target.seq}|S|4\r\n` };
      break;
    case 'gap':
      copy.splice(index, 1);
      break;
  }
  return copy;
}
