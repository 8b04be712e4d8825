import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP, SocketAddress } from 'node:net';
import fc from 'fast-check';
import { isAddressAllowed, LOOPBACK_ADDRESSES, parseAddressList, parseAddressRange } from '../src/address-allow-list.ts';

// Node's own BlockList is the oracle: an implementation of address matching that shares no code with ours.

const ipv4Prefix = fc.integer({ min: 0, max: 32 });
const ipv6Prefix = fc.integer({ min: 0, max: 128 });
const ipv6Groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });

function ipv4Network(address: string, prefix: number): string {
  const bits = address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
  const network = prefix === 0 ? 0 : (bits & (-1 << (32 - prefix))) >>> 0;
  return [24, 16, 8, 0].map((shift) => (network >>> shift) & 0xff).join('.');
}

function ipv6Network(groups: readonly number[], prefix: number): string {
  return groups.map((group, index) => {
    const kept = Math.min(16, Math.max(0, prefix - 16 * index));
    return (kept === 0 ? 0 : group & (0xffff << (16 - kept))).toString(16);
  }).join(':');
}

function oracle(add: (list: BlockList) => void): BlockList {
  const list = new BlockList();
  add(list);
  return list;
}

test('an IPv4 network matches as Node\'s BlockList does, for IPv4 peers and IPv4-mapped IPv6 peers alike', () => {
  fc.assert(fc.property(fc.ipV4(), ipv4Prefix, fc.ipV4(), (address, prefix, peer) => {
    const network = ipv4Network(address, prefix);
    const ranges = parseAddressList(`${network}/${prefix}`);
    const expected = oracle((list) => list.addSubnet(network, prefix, 'ipv4')).check(peer, 'ipv4');
    assert.equal(isAddressAllowed(ranges, peer), expected);
    assert.equal(isAddressAllowed(ranges, `::ffff:${peer}`), expected);
    assert.ok(isAddressAllowed(ranges, address), 'an address lies in its own network');
  }), { numRuns: 2000 });
});

test('an IPv6 network matches as Node\'s BlockList does, peers near it or anywhere', () => {
  const peerNear = (groups: number[]) => fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
    .chain((noise) => fc.integer({ min: 0, max: 8 }).map((shared) => [...groups.slice(0, shared), ...noise.slice(shared)]));
  fc.assert(fc.property(ipv6Groups, ipv6Prefix, (groups, prefix) => {
    const network = ipv6Network(groups, prefix);
    const ranges = parseAddressList(`${network}/${prefix}`);
    const expected = oracle((list) => list.addSubnet(network, prefix, 'ipv6'));
    fc.assert(fc.property(fc.oneof(peerNear(groups), ipv6Groups), (peerGroups) => {
      const peer = peerGroups.map((group) => group.toString(16)).join(':');
      assert.equal(isAddressAllowed(ranges, peer), expected.check(peer, 'ipv6'), `${peer} against ${network}/${prefix}`);
    }), { numRuns: 20 });
  }), { numRuns: 200 });
});

test('every way of writing an IPv6 address (compressed, expanded, embedded IPv4) means the same address as for Node', () => {
  const canonical = (address: string) => new SocketAddress({ address, family: 'ipv6' }).address;
  fc.assert(fc.property(fc.ipV6(), fc.ipV6(), (address, other) => {
    assert.ok(isAddressAllowed(parseAddressList(address), canonical(address)), `${canonical(address)} is ${address}`);
    assert.ok(isAddressAllowed(parseAddressList(canonical(address)), address), `${address} is ${canonical(address)}`);
    const expected = oracle((list) => list.addAddress(address, 'ipv6')).check(other, 'ipv6');
    assert.equal(isAddressAllowed(parseAddressList(address), other), expected, `${other} against ${address}`);
  }), { numRuns: 2000 });
  fc.assert(fc.property(ipv6Groups, (groups) => {
    const expanded = groups.map((group) => group.toString(16)).join(':');
    assert.ok(isAddressAllowed(parseAddressList(canonical(expanded)), expanded), `${expanded} is ${canonical(expanded)}`);
  }), { numRuns: 2000 });
});

test('a list allows an address when any of its entries does', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.ipV4(), ipv4Prefix), { minLength: 1, maxLength: 5 }), fc.ipV4(), (entries, peer) => {
    const networks = entries.map(([address, prefix]) => [ipv4Network(address, prefix), prefix] as const);
    const ranges = parseAddressList(networks.map(([network, prefix]) => ` ${network}/${prefix} `).join(','));
    const expected = oracle((list) => networks.forEach(([network, prefix]) => list.addSubnet(network, prefix, 'ipv4')));
    assert.equal(isAddressAllowed(ranges, peer), expected.check(peer, 'ipv4'));
  }), { numRuns: 1000 });
});

test('a network with bits set past its prefix length is refused, naming the network it would be', () => {
  fc.assert(fc.property(fc.ipV4(), fc.integer({ min: 0, max: 31 }), (address, prefix) => {
    fc.pre(ipv4Network(address, prefix) !== address);
    assert.throws(() => parseAddressRange(`${address}/${prefix}`), new RegExp(`bits set past its prefix length; the network would be ${ipv4Network(address, prefix).replaceAll('.', '\\.')}/${prefix}`));
  }));
  assert.throws(() => parseAddressRange('fd00::1/8'), /the network would be fd00:0:0:0:0:0:0:0\/8/);
});

test('anything but an address or a network is refused with the entry in the message', () => {
  fc.assert(fc.property(fc.string({ minLength: 1 }), (text) => {
    const entry = text.replaceAll(',', '').trim();
    fc.pre(entry.length > 0 && !entry.includes('/') && isIP(entry) === 0);
    assert.throws(() => parseAddressList(entry), (error: Error) => error.message.includes(`'${entry}'`));
  }), { numRuns: 2000 });
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.0/x', 'fe80::1%eth0', '1.2.3', '010.1.2.3', 'localhost']) {
    assert.throws(() => parseAddressList(bad), /'/, bad);
  }
  assert.throws(() => parseAddressList(' , '), /at least one address/);
});

test('the default allows the loopback addresses, as a server on :: or 0.0.0.0 sees them, and nothing else', () => {
  const loopback = parseAddressList(LOOPBACK_ADDRESSES);
  for (const peer of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::ffff:127.0.0.1', '::1']) assert.ok(isAddressAllowed(loopback, peer), peer);
  for (const peer of ['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', '::2', '::', 'fe80::1%lo', undefined]) assert.ok(!isAddressAllowed(loopback, peer), String(peer));
  assert.ok(isAddressAllowed(parseAddressList('fe80::/10'), 'fe80::1%eth0'), 'a link-local peer is matched without its zone');
  assert.ok(isAddressAllowed(parseAddressList('::ffff:10.0.0.0/104'), '10.9.8.7'), 'an IPv4 network may be written in its mapped form');
});
