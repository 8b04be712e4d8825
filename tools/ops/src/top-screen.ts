import type { GatewaySample, TopSample } from './top-sample.ts';

/**
 * The screen of `ops top`, rendered from samples alone: no I/O, no clock. Rates come from
 * two samples' counts over the time between them on Redis's clock; a gateway's from its
 * own heartbeats' stamps, since its counts are as of its last heartbeat, not as of the
 * sample.
 */

/** One attempt to sample: what was read, or why nothing could be. */
export type TopReading =
  | { readonly ok: true; readonly sample: TopSample }
  | { readonly ok: false; readonly atMs: number; readonly error: string };

export interface TopView {
  readonly keyPrefix: string;
  /** Where Redis is: host and port, never credentials. */
  readonly redisHost: string;
  /** The terminal's size; undefined for plain output, where nothing is cut. */
  readonly size?: { readonly columns: number; readonly rows: number };
  /** Says how to quit. */
  readonly interactive: boolean;
}

/** Width of the labels on the left (`sequencer  `). */
const LABEL_WIDTH = 11;

/** The screen for `current`; `earlier` holds the readings before it, oldest first. */
export function renderTopScreen(current: TopReading, earlier: readonly TopReading[], view: TopView): string {
  const atMs = current.ok ? current.sample.atMs : current.atMs;
  // What changes first, so that a narrow terminal cuts what does not.
  const header = `follower-maze top  ${clockTime(atMs)}${view.interactive ? '  q quits' : ''}  ${view.keyPrefix} on ${view.redisHost}`;
  const body = current.ok ? sampleLines(current.sample, earlier.flatMap((reading) => (reading.ok ? [reading.sample] : []))) : [
    `Redis unreachable: ${current.error}`,
  ];
  return fitted([header, ...body], view.size).join('\n');
}

function sampleLines(sample: TopSample, earlier: readonly TopSample[]): string[] {
  const previous = earlier.at(-1);
  const { stream, lease, position, redisMemory } = sample;
  const gatewayRates = new Map(sample.gateways.map((gateway) => [gateway.id, notificationRate(gateway, earlier)]));
  const knownRates = [...gatewayRates.values()].filter((value) => value !== undefined);
  const loads = sample.gateways.flatMap((gateway) => (gateway.load ? [gateway.load] : []));
  return [
    labelled('events', `in ${rateBetween(previous, sample, received)}  applied ${rateBetween(previous, sample, applied)}` +
      `  next ${count(position.nextSeq)}`),
    labelled('stream', `lag ${count(received(sample) - applied(sample))} events  entries ${count(stream.entries)}` +
      ` (${stream.unreadEntries === undefined ? '?' : count(stream.unreadEntries)} unread, ${count(stream.pendingEntries)} pending)`),
    labelled('sequencer', `${lease ? `${lease.holder} leads (lease ${seconds(lease.ttlMs)} left)` : 'none leads (the lease is free)'}` +
      `  term ${position.term}  epoch ${position.epoch}  batch ${count(position.batchSeq)}`),
    labelled('gateways', `${sample.gateways.length}  clients ${count(sum(loads.map((load) => load.clients)))}` +
      `  unsent ${bytes(sum(loads.map((load) => load.unsentBytes)))}` +
      `  notifications ${knownRates.length > 0 ? perSecond(sum(knownRates)) : '-'}`),
    ...redisMemory.map((memory, index) => labelled(index === 0 ? 'redis' : '', `${memory.node ? `${memory.node}  ` : ''}` +
      `used ${bytes(memory.usedBytes)}  peak ${bytes(memory.peakBytes)}  maxmemory ${memory.maxBytes > 0 ? bytes(memory.maxBytes) : 'none'}`)),
    ...waitLines(sample),
    ...gatewayTable(sample, gatewayRates),
  ];
}

/** Events applied: every sequence number below the position. */
function applied(sample: TopSample): number {
  return sample.position.nextSeq - 1;
}

/** How far the source has got; an empty stream (all of it applied and trimmed) leaves the position to tell. */
function received(sample: TopSample): number {
  return Math.max(sample.stream.newestSeq ?? 0, applied(sample));
}

/** A count's rate from the previous sample to this one; unknown across a reset (a new epoch) or for a count that fell. */
function rateBetween(previous: TopSample | undefined, sample: TopSample, countOf: (sample: TopSample) => number): string {
  if (!previous || previous.position.epoch !== sample.position.epoch || sample.atMs <= previous.atMs) return '-';
  const grown = countOf(sample) - countOf(previous);
  return grown >= 0 ? perSecond((grown * 1000) / (sample.atMs - previous.atMs)) : '-';
}

/** From the newest earlier sample that holds an older heartbeat of the same gateway. */
function notificationRate(gateway: GatewaySample, earlier: readonly TopSample[]): number | undefined {
  const load = gateway.load;
  if (!load) return undefined;
  for (let index = earlier.length - 1; index >= 0; index--) {
    const before = earlier[index]!.gateways.find((candidate) => candidate.id === gateway.id)?.load;
    if (!before || before.atMs >= load.atMs) continue;
    const written = load.notificationsWritten - before.notificationsWritten;
    return written >= 0 ? (written * 1000) / (load.atMs - before.atMs) : undefined;
  }
  return undefined;
}

function waitLines(sample: TopSample): string[] {
  if (sample.waits.length === 0) return [labelled('waiting', 'nothing')];
  return sample.waits.map((wait, index) =>
    labelled(index === 0 ? 'waiting' : '', `${wait.process}: ${wait.what}, ${Math.round(wait.forMs / 1000)} s`),
  );
}

function gatewayTable(sample: TopSample, rates: ReadonlyMap<string, number | undefined>): string[] {
  if (sample.gateways.length === 0) return [];
  const idWidth = Math.max('gateway'.length, ...sample.gateways.map((gateway) => gateway.id.length));
  const row = (id: string, clients: string, unsent: string, notifications: string, heartbeat: string) =>
    `${id.padEnd(idWidth)}  ${clients.padStart(7)}  ${unsent.padStart(10)}  ${notifications.padStart(15)}  ${heartbeat}`;
  return [
    '',
    row('gateway', 'clients', 'unsent', 'notifications/s', 'heartbeat'),
    ...sample.gateways.map((gateway) => {
      const rate = rates.get(gateway.id);
      return row(
        gateway.id,
        gateway.load ? count(gateway.load.clients) : '-',
        gateway.load ? bytes(gateway.load.unsentBytes) : '-',
        rate === undefined ? '-' : perSecond(rate),
        `${seconds(Math.max(0, sample.atMs - gateway.heartbeatAtMs))} ago`,
      );
    }),
  ];
}

/** Cut to the terminal: each line to its width, and the lines to its height, saying how many did not fit. */
function fitted(lines: string[], size: TopView['size']): string[] {
  if (!size) return lines;
  const shown = lines.length > size.rows ? [...lines.slice(0, Math.max(0, size.rows - 1)), `(${lines.length - size.rows + 1} more lines)`] : lines;
  return shown.map((line) => line.slice(0, size.columns));
}

function labelled(label: string, text: string): string {
  return `${label.padEnd(LABEL_WIDTH)}${text}`;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function count(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function perSecond(value: number): string {
  return `${count(value)}/s`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  let scaled = value / 1024;
  let unit = 0;
  while (scaled >= 1024 && unit < BYTE_UNITS.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

function clockTime(atMs: number): string {
  return `${new Date(atMs).toISOString().slice(11, 19)} UTC`;
}
