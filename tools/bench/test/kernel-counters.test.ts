import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterGrowth, netstatField, softnetDrops } from '../src/kernel-counters.ts';

const NETSTAT = [
  'TcpExt: SyncookiesSent ListenOverflows TCPAbortOnTimeout',
  'TcpExt: 3 267813 31879',
  'IpExt: InNoRoutes ListenOverflows',
  'IpExt: 0 99',
].join('\n');

test('a netstat field is read from its protocol\'s header and value lines', () => {
  assert.equal(netstatField(NETSTAT, 'TcpExt', 'ListenOverflows'), 267_813);
  assert.equal(netstatField(NETSTAT, 'TcpExt', 'TCPAbortOnTimeout'), 31_879);
  assert.equal(netstatField(NETSTAT, 'IpExt', 'ListenOverflows'), 99);
  assert.equal(netstatField(NETSTAT, 'TcpExt', 'Missing'), undefined);
});

test('backlog drops are the second hex column of softnet_stat, over every CPU', () => {
  const softnet = '0259f6dc 000479c3 00000007 00000000\n02774fd1 00060b48 00000003 00000000\n';
  assert.equal(softnetDrops(softnet), 0x479c3 + 0x60b48);
});

test('growth is after minus before, counter by counter', () => {
  assert.deepEqual(
    counterGrowth({ listenOverflows: 5, abortsOnTimeout: 1, backlogDrops: 100 }, { listenOverflows: 7, abortsOnTimeout: 1, backlogDrops: 130 }),
    { listenOverflows: 2, abortsOnTimeout: 0, backlogDrops: 30 },
  );
});
