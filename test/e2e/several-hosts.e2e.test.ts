import { after, afterEach, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostNetwork } from '../support/host-network.ts';
import { eventually, uniquePrefix } from '../support/redis-fixture.ts';
import { HOSTS, SeveralHosts, SeveralHostsStack, type SeveralHostsStackOptions } from '../support/several-hosts-stack.ts';

/**
 * The product on several hosts: Redis, each of the two sequencers, the ingest, the
 * gateways (two processes) and the checker (event source and user clients) each in a
 * network namespace of its own, joined by veth pairs to one bridge, with addresses in a
 * private /24 that only this run uses. Nothing reaches anything over loopback: every
 * service listens on its host's address and reaches Redis by the Redis host's address.
 * Then the same with the hosts' clocks far apart, which must not matter: nothing may
 * compare two hosts' clocks.
 *
 * Needs root (namespaces); skipped, saying why, only where they cannot be made.
 */
const unavailable = HostNetwork.unavailableReason();
const skip = unavailable ? `several hosts cannot be made here: ${unavailable}` : false;

let hosts: SeveralHosts | undefined;
let stack: SeveralHostsStack | undefined;
/** Even if the run dies without its after hooks, the namespaces go (and a later run removes what a killed one left). */
const removeOnExit = () => hosts?.network.remove();

before(async () => {
  if (skip) return;
  hosts = await SeveralHosts.create();
  process.once('exit', removeOnExit);
});

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

after(async () => {
  await stack?.stop();
  await hosts?.remove();
  process.off('exit', removeOnExit);
});

const STANDARD_EVENTS = 100_000;
/** How long trimming may take to catch up after a run (it runs every 500 ms here). */
const TRIM_WAIT_MS = 5000;
test(`standard run across ${HOSTS.length} hosts: ${STANDARD_EVENTS.toLocaleString('en-US')} events to 100 clients, checker on its own host`, { skip }, async (t) => {
  stack = await start('standard');
  const network = stack.hosts.network;
  // Every service runs on its host, and nothing talks to Redis but from the services' hosts (and this test's).
  for (const process of stack.stack.processes.values()) {
    assert.equal(namespaceOf(process.pid!), network.namespace(stack.hostOf(process)), `${process.spec.name} runs on its host`);
  }
  // Wait for the standby's connections too: readiness asks only for the active sequencer.
  const clients = await eventually(async () => {
    const list = (await stack!.redis.client('LIST')) as string;
    const fromHosts = new Set(list.match(/\baddr=[\d.]+/g)!.map((addr) => addr.slice(5)));
    assert.deepEqual(
      [...fromHosts].sort(),
      [...(['seq1', 'seq2', 'ingest', 'gateways'] as const).map((host) => network.address(host)), network.controlAddress].sort(),
      `Redis is reached from each service host, and only from them and the test:\n${list}`,
    );
    return list;
  }, 10_000, 100);
  t.diagnostic(`Redis clients: ${clients.split('\n').filter(Boolean).length}`);

  const started = performance.now();
  const result = await stack.runCheckerCommand({ totalEvents: String(STANDARD_EVENTS), concurrencyLevel: '100' });
  t.diagnostic(`checker on the client host: exit ${result.code} in ${Math.round(performance.now() - started)} ms; ${summaryOf(result.stdout)}`);
  assert.equal(result.code, 0, `the checker failed:\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}\n${stack.problems()}`);
  assert.match(result.stdout, /ALL NOTIFICATIONS RECEIVED/);
  const counts = /([\d,]+) events, ([\d,]+) \/ ([\d,]+) notifications/.exec(result.stdout);
  assert.ok(counts, 'the checker printed its counts');
  const [events, received, expected] = counts.slice(1).map((text) => Number(text.replaceAll(',', '')));
  assert.equal(events, STANDARD_EVENTS);
  assert.equal(received, expected);
  // With seed 666 the run expects about 19,800 notifications.
  assert.ok(expected! > 15_000, `only ${expected} notifications expected`);
});

test('kill -9 of the active sequencer mid-run: the standby on the other host takes over and the run passes', { skip }, async (t) => {
  stack = await start('failover');
  await runWithFailover(t, stack);
  await assertStreamTrimmed(stack);
});

/**
 * Clocks hours apart: the gateways' host an hour behind, the ingest's an hour ahead, the
 * sequencers' 15 minutes either side of true (Redis and the checker keep the machine's
 * clock). Faked in each host's Node processes by skewed-clock.ts (Date only; monotonic
 * clocks are untouched, as on real hosts). A service that compared its clock with
 * another host's would take live gateways for dead (or the reverse) and lose clients'
 * notifications, or (trimming by a job that one host dates and another starts) stop
 * trimming after a failover to the host whose clock is behind.
 */
test('clocks hours apart on the hosts change nothing, across a failover', { skip }, async (t) => {
  const clockSkewMs = { gateways: -3_600_000, ingest: 3_600_000, seq1: 900_000, seq2: -900_000 };
  stack = await start('skew', { clockSkewMs });
  const { killedHost, successorHost } = await runWithFailover(t, stack);
  const successorBehind = clockSkewMs[successorHost] < clockSkewMs[killedHost];
  await t.test(
    `the event stream is still trimmed after the failover to the host whose clock is ${successorBehind ? 'behind' : 'ahead'}`,
    () => assertStreamTrimmed(stack!),
  );
});

function start(name: string, options?: SeveralHostsStackOptions): Promise<SeveralHostsStack> {
  return SeveralHostsStack.start(hosts!, uniquePrefix(`hosts-${name}`), options);
}

/** 100,000 events at 25,000/s, the active sequencer killed once events flow. */
async function runWithFailover(t: TestContext, current: SeveralHostsStack): Promise<{ killedHost: 'seq1' | 'seq2'; successorHost: 'seq1' | 'seq2' }> {
  const run = current.verify({ totalEvents: STANDARD_EVENTS, maxEventsPerSecond: 25_000 });
  const position = `${current.keyPrefix}:position`;
  const waitUntil = Date.now() + 20_000;
  while (Number((await current.redis.hget(position, 'nextSeq')) ?? 1) <= 20_000 && Date.now() < waitUntil) await sleep(20);
  const killed = await current.activeSequencer();
  assert.ok(killed?.pid, 'a sequencer is active');
  const killedAt = performance.now();
  killed.signal('SIGKILL');
  const successor = await current.nextActiveSequencer([killed.pid]);
  const takeoverMs = Math.round(performance.now() - killedAt);
  const killedHost = current.hostOf(killed);
  const successorHost = current.hostOf(successor);
  const report = await run;
  t.diagnostic(
    `killed the active sequencer on ${killedHost} at nextSeq > 20,000; the one on ${successorHost} took the lease ${takeoverMs} ms later; ` +
      `${report.eventsSent} events, ${report.notificationsReceived} / ${report.notificationsExpected} notifications in ${Math.round(report.durationMs)} ms`,
  );
  assert.deepEqual(report.failures, [], current.problems());
  assert.equal(report.ok, true);
  assert.equal(report.eventsSent, STANDARD_EVENTS);
  assert.equal(report.notificationsReceived, report.notificationsExpected);
  assert.notEqual(successorHost, killedHost, 'the standby on the other host took over');
  const resumed = current.logs().filter((line) => line['msg'] === 'active: resumed from the committed position' && line['pid'] === successor.pid);
  assert.equal(resumed.length, 1, 'the successor began one term');
  assert.ok(Number(resumed[0]!['nextSeq']) > 1, `the successor resumed from the committed position, not from 1 (nextSeq ${resumed[0]!['nextSeq']})`);
  assert.ok(killedHost === 'seq1' || killedHost === 'seq2', `a sequencer host, not ${killedHost}`);
  assert.ok(successorHost === 'seq1' || successorHost === 'seq2', `a sequencer host, not ${successorHost}`);
  return { killedHost, successorHost };
}

/** The trimming job runs on the sequencer that took over: the event stream is trimmed behind the committed position. */
async function assertStreamTrimmed(current: SeveralHostsStack): Promise<void> {
  const events = `${current.keyPrefix}:events`;
  const deadline = Date.now() + TRIM_WAIT_MS;
  let length = await current.redis.xlen(events);
  while (length > 1 && Date.now() < deadline) {
    await sleep(100);
    length = await current.redis.xlen(events);
  }
  assert.ok(length <= 1, `the event stream still holds ${length} entries ${TRIM_WAIT_MS} ms after the run`);
}

function namespaceOf(pid: number): string {
  return execFileSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).trim();
}

function summaryOf(stdout: string): string {
  return stdout.split('\n').find((line) => / events, .* notifications in /.test(line)) ?? '(no summary line)';
}
