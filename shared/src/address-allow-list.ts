import { isIPv4, isIPv6 } from 'node:net';

/**
 * One allowed network. Every address is held as 128 bits, IPv4 as its IPv4-mapped IPv6
 * form (`::ffff:a.b.c.d`), so that `10.0.0.0/8` also matches `::ffff:10.1.2.3`, which is
 * how a server listening on `::` sees an IPv4 peer.
 */
export interface AddressRange {
  /** The network's address, its bits past `prefixBits` all zero. */
  readonly network: bigint;
  /** Leading bits of `network` an address must share (of 128). */
  readonly prefixBits: number;
  /** As the operator wrote it, for messages. */
  readonly text: string;
}

const ADDRESS_BITS = 128;
const IPV4_BITS = 32;
/** `::ffff:0:0/96`: the IPv4-mapped block, where IPv4 addresses are held. */
const IPV4_MAPPED = 0xffffn << 32n;
const ALL_BITS = (1n << BigInt(ADDRESS_BITS)) - 1n;
/** The loopback addresses: the default of EVENT_SOURCE_ALLOW. */
export const LOOPBACK_ADDRESSES = '127.0.0.0/8,::1';

/**
 * Parses a comma-separated list of addresses and CIDR networks, IPv4 or IPv6
 * (`127.0.0.1, 10.0.0.0/8, ::1, fd00::/8`). Throws an error saying which entry is wrong
 * and why; a network with bits set past its prefix length is refused rather than
 * widened (`10.1.2.3/8` is more likely a mistake for `/32` than meant as `10.0.0.0/8`).
 */
export function parseAddressList(text: string): AddressRange[] {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new Error('must name at least one address or network; an empty list would refuse everyone');
  return entries.map(parseAddressRange);
}

export function parseAddressRange(entry: string): AddressRange {
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const address = parseAddress(addressText);
  if (address === undefined) throw new Error(`'${entry}' is not an IPv4 or IPv6 address or network`);
  const maxBits = isIPv4(addressText) ? IPV4_BITS : ADDRESS_BITS;
  const lengthText = slash === -1 ? String(maxBits) : entry.slice(slash + 1);
  const length = /^\d{1,3}$/.test(lengthText) ? Number(lengthText) : NaN;
  if (!(length <= maxBits)) throw new Error(`'${entry}': the prefix length must be 0 to ${maxBits}`);
  const prefixBits = length + (ADDRESS_BITS - maxBits);
  const network = address & prefixMask(prefixBits);
  if (network !== address) {
    throw new Error(`'${entry}' has bits set past its prefix length; the network would be ${formatNetwork(network, addressText)}/${length}`);
  }
  return { network, prefixBits, text: entry };
}

/** Whether the address (as `socket.remoteAddress` gives it, maybe with a zone) lies in one of the ranges. */
export function isAddressAllowed(ranges: readonly AddressRange[], remoteAddress: string | undefined): boolean {
  if (remoteAddress === undefined) return false;
  const zone = remoteAddress.indexOf('%');
  const address = parseAddress(zone === -1 ? remoteAddress : remoteAddress.slice(0, zone));
  if (address === undefined) return false;
  return ranges.some((range) => (address & prefixMask(range.prefixBits)) === range.network);
}

/** The list as it reads in messages. */
export function formatAddressList(ranges: readonly AddressRange[]): string {
  return ranges.map((range) => range.text).join(',');
}

/** An IPv4 or IPv6 address (no zone, no prefix length) as 128 bits, or undefined. */
function parseAddress(text: string): bigint | undefined {
  if (text.includes('%')) return undefined;
  if (isIPv4(text)) return IPV4_MAPPED | ipv4Bits(text);
  if (!isIPv6(text)) return undefined;
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap(ipv6Groups));
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - before.length - after.length).fill(0);
  return [...before, ...zeros, ...after].reduce((bits, group) => (bits << 16n) | BigInt(group), 0n);
}

/** One group of an IPv6 address, or the two groups of an embedded IPv4 address (`::ffff:1.2.3.4`). */
function ipv6Groups(group: string): number[] {
  if (!group.includes('.')) return [parseInt(group, 16)];
  const bits = Number(ipv4Bits(group));
  return [bits >>> 16, bits & 0xffff];
}

function ipv4Bits(text: string): bigint {
  return text.split('.').reduce((bits, octet) => (bits << 8n) | BigInt(Number(octet)), 0n);
}

function prefixMask(prefixBits: number): bigint {
  return ALL_BITS ^ ((1n << BigInt(ADDRESS_BITS - prefixBits)) - 1n);
}

/** The network in the family it was written in, for the error message that suggests it. */
function formatNetwork(network: bigint, writtenAs: string): string {
  if (isIPv4(writtenAs)) return [24n, 16n, 8n, 0n].map((shift) => (network >> shift) & 0xffn).join('.');
  const groups = Array.from({ length: 8 }, (_, index) => ((network >> BigInt(112 - 16 * index)) & 0xffffn).toString(16));
  return groups.join(':');
}
