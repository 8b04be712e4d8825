import { relative } from 'node:path';
import { formatCount, formatProfile } from './report.ts';
import { bytesPerConnection, range, ratePerSecond } from './scale-figures.ts';
import type { CpuUse, GatewayFigures, ScaleResult } from './scale-run.ts';
import { KERNEL_COUNTER_NAMES, type KernelCounters } from './kernel-counters.ts';

const KIB_BYTES = 1024;
const MIB_BYTES = 1024 * KIB_BYTES;
const LABEL_WIDTH = 18;

function line(label: string, text: string): string {
  return `  ${label.padEnd(LABEL_WIDTH)}${text}`;
}

function kib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : (bytes / KIB_BYTES).toFixed(1);
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : (bytes / MIB_BYTES).toFixed(1);
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : formatCount(value);
}

function formatCpu(cpu: CpuUse): string {
  return `CPU ${cpu.map(({ group, seconds }) => `${group} ${seconds.toFixed(2)} s`).join(', ')}`;
}

/** The kernel's losses, machine-wide; the empty string when there were none. */
function formatKernel(kernel: KernelCounters | undefined): string {
  if (!kernel) return '';
  const grown = (Object.keys(KERNEL_COUNTER_NAMES) as (keyof KernelCounters)[]).filter((name) => kernel[name] > 0);
  return grown.length === 0 ? '' : `; kernel (machine-wide): ${grown.map((name) => `${formatCount(kernel[name])} ${KERNEL_COUNTER_NAMES[name]}`).join(', ')}`;
}

function spanOf(values: readonly (number | undefined)[], format: (value: number) => string): string {
  const span = range(values);
  if (!span) return '-';
  return span.min === span.max ? format(span.min) : `${format(span.min)} – ${format(span.max)}`;
}

/** RSS and V8 heap per idle connection of one gateway: its growth from idle to loaded, after a full GC each time. */
export function perConnection(gateway: GatewayFigures): { readonly rssBytes: number | undefined; readonly heapBytes: number | undefined } {
  const { idle, loaded, connections } = gateway;
  if (!loaded) return { rssBytes: undefined, heapBytes: undefined };
  return {
    rssBytes: bytesPerConnection(idle.rssBytes, loaded.rssBytes, connections),
    heapBytes: idle.heapUsedBytes === undefined || loaded.heapUsedBytes === undefined
      ? undefined
      : bytesPerConnection(idle.heapUsedBytes, loaded.heapUsedBytes, connections),
  };
}

export interface ConnectRates {
  /** From the first connection begun to the last id line written. */
  readonly idLinesPerSecond: number | undefined;
  /** From the first connection begun to every user in a presence set. */
  readonly routablePerSecond: number | undefined;
}

export function connectRates(result: ScaleResult): ConnectRates {
  const connect = result.connect;
  if (!connect) return { idLinesPerSecond: undefined, routablePerSecond: undefined };
  return {
    idLinesPerSecond: ratePerSecond(connect.connected, connect.firstConnectAtMs, connect.lastIdLineAtMs),
    routablePerSecond: connect.routableAtMs === undefined ? undefined : ratePerSecond(connect.connected, connect.firstConnectAtMs, connect.routableAtMs),
  };
}

/** Everything one run measured, as printed right after it. */
export function formatScaleRun(result: ScaleResult, repoRoot: string): string {
  const { options, connect } = result;
  const lines = [`${formatCount(options.clients)} clients over ${options.gateways} gateways: ${result.failures.length === 0 ? 'ok' : 'FAILED'}`];
  for (const failure of result.failures) lines.push(`  ! ${failure}`);
  if (connect) {
    const rates = connectRates(result);
    lines.push(line('connect', `${formatCount(connect.connected)} id lines written in ${ms(connect.lastIdLineAtMs - connect.firstConnectAtMs)} ms ` +
      `(${ms(rates.idLinesPerSecond)} clients/s); all routable after ${ms(connect.routableAtMs === undefined ? undefined : connect.routableAtMs - connect.firstConnectAtMs)} ms ` +
      `(${ms(rates.routablePerSecond)} clients/s); ${formatCount(connect.connectRetries)} connection attempts retried`),
    line('', `${formatCpu(connect.cpu)} while connecting${formatKernel(connect.kernel)}`));
  }
  if (result.gateways.length > 0) {
    lines.push(line('memory', 'per idle connection = (loaded − idle) / its connections; RSS and V8 heap used, each after a full GC'));
    for (const gateway of result.gateways) {
      const per = perConnection(gateway);
      lines.push(line('', `${gateway.name} (pid ${gateway.pid}): ${formatCount(gateway.connections)} connections (${formatCount(gateway.presence)} in presence), ` +
        `RSS ${mib(gateway.idle.rssBytes)} → ${mib(gateway.loaded?.rssBytes)} MiB (${mib(gateway.loaded?.rssAsIsBytes)} before the GC) = ${kib(per.rssBytes)} KiB each; ` +
        `heap ${mib(gateway.idle.heapUsedBytes)} → ${mib(gateway.loaded?.heapUsedBytes)} MiB = ${kib(per.heapBytes)} KiB each`));
    }
    const all = result.gateways.map(perConnection);
    lines.push(line('', `over the gateways: RSS ${spanOf(all.map(({ rssBytes }) => rssBytes), kib)} KiB, heap ${spanOf(all.map(({ heapBytes }) => heapBytes), kib)} KiB per connection`));
  }
  for (const broadcast of result.broadcasts) {
    const { all } = broadcast;
    lines.push(line(`broadcast ${broadcast.seq}`, all
      ? `${formatCount(all.count)} clients, the last ${ms(all.lastMs)} ms after sending (first ${ms(all.firstMs)}, p50 ${ms(all.p50Ms)}, p99 ${ms(all.p99Ms)} ms); ` +
        `batch end published after ${ms(broadcast.publishedAfterMs)} ms; last per gateway ${broadcast.perGateway.map((figures) => ms(figures?.lastMs)).join(', ')} ms` +
        `${broadcast.missing > 0 ? `; ${formatCount(broadcast.missing)} MISSING` : ''}`
      : 'reached nobody'));
    lines.push(line('', `${formatCpu(broadcast.cpu)}${formatKernel(broadcast.kernel)}`));
  }
  if (result.crowd) {
    const { closedByServer, bytesReceived } = result.crowd;
    lines.push(line('clients', `${formatCount(bytesReceived)} bytes received in all, ${formatCount(closedByServer)} disconnected by the gateways`));
  }
  if (result.eventLoop.length > 0) {
    lines.push(line('event loop delay', `from the first broadcast on: ${result.eventLoop.map(({ name, p99Ms, maxMs }) => `${name} p99 ${p99Ms} / max ${maxMs} ms`).join(', ')}`));
  }
  const kernel = formatKernel(result.kernel);
  if (kernel) {
    lines.push(line('KERNEL LOSSES', `over the run${kernel} (net.core.netdev_max_backlog=${result.netdevMaxBacklog ?? '?'}): ` +
      'loopback packets the kernel dropped or connections it gave up on; see the README'));
  }
  lines.push(line('service logs', relative(repoRoot, result.logFile)));
  if (result.profile) lines.push(formatProfile(result.profile, result.processes, result.runDir, repoRoot, 'the broadcasts'));
  return lines.join('\n');
}

/** Every run in one Markdown table, to paste into a note. */
export function formatScaleTable(results: readonly ScaleResult[]): string {
  const broadcasts = Math.max(0, ...results.map(({ broadcasts }) => broadcasts.length));
  const header = [
    'gateways', 'clients', 'result', 'connect, id lines (clients/s)', 'connect, until routable (clients/s)',
    'RSS per idle connection (KiB)', 'heap per idle connection (KiB)',
    ...Array.from({ length: broadcasts }, (_, index) => `broadcast ${index + 1} to all (ms)`),
  ];
  const rows = results.map((result) => {
    const rates = connectRates(result);
    const per = result.gateways.map(perConnection);
    return [
      String(result.options.gateways), formatCount(result.options.clients), result.failures.length === 0 ? 'ok' : 'FAILED',
      ms(rates.idLinesPerSecond), ms(rates.routablePerSecond),
      spanOf(per.map(({ rssBytes }) => rssBytes), kib), spanOf(per.map(({ heapBytes }) => heapBytes), kib),
      ...Array.from({ length: broadcasts }, (_, index) => {
        const broadcast = result.broadcasts[index];
        if (!broadcast) return '-';
        return `${ms(broadcast.all?.lastMs)}${broadcast.missing > 0 ? ` (${formatCount(broadcast.missing)} missing)` : ''}`;
      }),
    ];
  });
  const separator = header.map((_, column) => (column === 2 ? '---' : '---:'));
  return [header, separator, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
