import { basename, dirname, relative } from 'node:path';
import type { ProgressSnapshot } from '../../verify/src/index.ts';
import type { BenchResult } from './bench-run.ts';
import type { ProfileSummary } from './cpu-profile.ts';
import { SCRIPT_BUDGET_MS } from './redis-stats.ts';
import type { PeakRss } from './rss-sampler.ts';

const MS_PER_S = 1000;
const KIB_BYTES = 1024;
const MIB_BYTES = 1024 * KIB_BYTES;
const GIB_BYTES = 1024 * MIB_BYTES;
/** Commands listed under the per-event total. */
const TOP_REDIS_COMMANDS = 6;
const LABEL_WIDTH = 18;

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  if (bytes >= GIB_BYTES) return `${(bytes / GIB_BYTES).toFixed(2)} GiB`;
  if (bytes >= MIB_BYTES) return `${(bytes / MIB_BYTES).toFixed(1)} MiB`;
  return `${(bytes / KIB_BYTES).toFixed(0)} KiB`;
}

function formatMs(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

/** Per-event figures are small fractions or small multiples: three significant digits, no trailing zeros. */
function formatPerEvent(value: number): string {
  return String(Number(value.toPrecision(3)));
}

/** `1 Redis`, or `3 masters`, `3 masters + 1 replica each, WAIT 1` (REDIS_WAIT_REPLICAS of the services' environment). */
export function redisShapeName(clusterMasters: number, clusterReplicas = 0, waitReplicas = 0): string {
  if (clusterMasters === 0) return '1 Redis';
  const replicas = clusterReplicas > 0 ? ` + ${clusterReplicas} replica${clusterReplicas > 1 ? 's' : ''} each` : '';
  return `${clusterMasters} masters${replicas}${waitReplicas > 0 ? `, WAIT ${waitReplicas}` : ''}`;
}

/** One progress line: totals so far and the notification rate since the previous line. */
export function formatProgress(progress: ProgressSnapshot, previous: ProgressSnapshot): string {
  const seconds = (progress.elapsedMs - previous.elapsedMs) / MS_PER_S;
  const rate = (progress.notificationsReceived - previous.notificationsReceived) / seconds;
  return (
    `  [${(progress.elapsedMs / MS_PER_S).toFixed(0).padStart(3)} s] events sent ${formatCount(progress.eventsSent)}, ` +
    `notifications ${formatCount(progress.notificationsReceived)} / ${formatCount(progress.notificationsExpected)}, ` +
    `${formatCount(rate)} notifications/s`
  );
}

function line(label: string, text: string): string {
  return `  ${label.padEnd(LABEL_WIDTH)}${text}`;
}

/** The full figures of one run, as printed right after it. */
export function formatRun(result: BenchResult, repoRoot: string): string {
  const { report, redis, events } = result;
  const lines = [`${formatCount(events)} events: ${report.ok ? 'ok' : 'FAILED'}`];
  for (const failure of report.failures) lines.push(`  ! ${failure}`);
  lines.push(
    line('notifications', `${formatCount(report.notificationsReceived)} of ${formatCount(report.notificationsExpected)} expected, in ${(report.durationMs / MS_PER_S).toFixed(2)} s`),
    line('throughput', `${formatCount(report.eventsPerSecond)} events/s, ${formatCount(report.notificationsPerSecond)} notifications/s`),
    line('latency', `p50 ${formatMs(report.latencyMs.p50)}, p99 ${formatMs(report.latencyMs.p99)} (${formatCount(report.latencyMs.samples)} samples)`),
    line('peak RSS', result.peakRss.map(({ name, peakBytes }) => `${name} ${formatBytes(peakBytes)}`).join(', ')),
  );
  const restarted = result.peakRss.filter(({ pids }) => pids.length > 1);
  if (restarted.length > 0) {
    lines.push(line('RESTARTED', restarted.map(({ name, pids }) => `${name} (pids ${pids.join(', ')})`).join(', ')));
  }
  if (result.crowd) {
    const { connected, connectMs, closedByServer, bytesReceived } = result.crowd;
    lines.push(line('extra users', `${formatCount(connected)} connected in ${formatCount(connectMs)} ms, ` +
      `${formatBytes(bytesReceived)} received, ${formatCount(closedByServer)} disconnected by the gateways`));
  }
  const join = result.joinLatency;
  lines.push(
    line('join latency', `id line to routable: p50 ${formatMs(join.p50Ms)}, p90 ${formatMs(join.p90Ms)}, p99 ${formatMs(join.p99Ms)}, ` +
      `max ${formatMs(join.maxMs)} (${formatCount(join.samples)} clients${join.neverAnnounced > 0 ? `, ${formatCount(join.neverAnnounced)} NEVER ANNOUNCED` : ''})`),
    line('event loop delay', result.eventLoop.map(({ name, p99Ms, maxMs }) => `${name} p99 ${p99Ms} / max ${maxMs} ms`).join(', ')),
    line('slowest Redis', `${formatMs(redis.slowCommands.worstMs)} (${redis.slowCommands.worstCommand}); ` +
      `${formatCount(redis.slowCommands.overBudget)} commands over ${SCRIPT_BUDGET_MS} ms`),
    line('Redis memory', `used ${formatBytes(redis.usedMemoryBytes)} at the end, peak ${formatBytes(redis.usedMemoryPeakBytes)}`),
    line('event stream', `${formatCount(redis.streamLength)} entries at the end`),
    line('Redis commands', `${formatPerEvent(redis.totalCalls / events)} per event (${formatCount(redis.totalCalls)} calls, those inside scripts included)`),
    ...redis.commands.slice(0, TOP_REDIS_COMMANDS).map(({ command, calls, usec }) =>
      line('', `${command.padEnd(14)} ${formatPerEvent(calls / events).padStart(9)} calls/event, ${formatPerEvent(usec / events).padStart(9)} µs of Redis time/event`),
    ),
    ...redis.shards.map(({ node, totalCalls, publishCalls, usedMemoryBytes }, index) =>
      line(index === 0 ? 'per master' : '', `${node.padEnd(16)} ${formatPerEvent(totalCalls / events).padStart(9)} calls/event ` +
        `(${formatCount(totalCalls)}), ${formatCount(publishCalls)} SPUBLISH, used ${formatBytes(usedMemoryBytes)}`)),
    line('service logs', relative(repoRoot, result.logFile)),
  );
  if (result.profile) lines.push(formatProfile(result.profile, result.peakRss, dirname(result.logFile), repoRoot));
  return lines.join('\n');
}

/** The top functions by self time, with which processes were profiled (named by pid from `processes`). */
export function formatProfile(
  profile: ProfileSummary, processes: readonly Pick<PeakRss, 'name' | 'pids'>[], profileDir: string, repoRoot: string, during = 'the run',
): string {
  const profiled = profile.files.map((file) => {
    const pid = Number(basename(file).split('.')[3]);
    const name = processes.find(({ pids }) => pids.includes(pid))?.name ?? 'unknown';
    return `${name} (pid ${pid})`;
  });
  const lines = [
    `  CPU profile of ${profiled.join(', ')}: ${(profile.totalMs / MS_PER_S).toFixed(1)} s sampled during ${during}, ` +
      `files in ${relative(repoRoot, profileDir)}`,
    `  ${'self ms'.padStart(10)} ${'%'.padStart(6)}  function @ location`,
  ];
  for (const { functionName, location, selfMs } of profile.functions) {
    const share = (100 * selfMs) / profile.totalMs;
    lines.push(`  ${formatCount(selfMs).padStart(10)} ${share.toFixed(1).padStart(6)}  ${functionName}${location && ` @ ${location}`}`);
  }
  return lines.join('\n');
}

/** Every run in one Markdown table, to paste into a note. RSS in MiB, per process. */
export function formatSummaryTable(results: readonly BenchResult[]): string {
  const processNames = [...new Set(results.flatMap(({ peakRss }) => peakRss.map(({ name }) => name)))];
  const header = [
    'events', 'gateways', 'Redis', 'result', 'events/s', 'notifications/s', 'p50 ms', 'p99 ms',
    ...processNames.map((name) => `RSS ${name} MiB`),
    'Redis used / peak', 'stream length', 'Redis cmds/event', 'slowest Redis ms', 'sequencer loop delay max ms', 'join p99 ms',
  ];
  const rows = results.map(({ events, gateways, redisShape, report, peakRss, redis, eventLoop, joinLatency }) => [
    formatCount(events),
    String(gateways),
    redisShape,
    report.ok ? 'ok' : 'FAILED',
    formatCount(report.eventsPerSecond),
    formatCount(report.notificationsPerSecond),
    report.latencyMs.p50.toFixed(2),
    report.latencyMs.p99.toFixed(2),
    ...processNames.map((name) => {
      const peak = peakRss.find((entry) => entry.name === name);
      return peak === undefined ? '-' : (peak.peakBytes / MIB_BYTES).toFixed(0);
    }),
    `${formatBytes(redis.usedMemoryBytes)} / ${formatBytes(redis.usedMemoryPeakBytes)}`,
    formatCount(redis.streamLength),
    formatPerEvent(redis.totalCalls / events),
    redis.slowCommands.worstMs.toFixed(1),
    String(eventLoop.filter(({ name }) => name.startsWith('sequencer')).reduce((worst, { maxMs }) => Math.max(worst, maxMs), 0)),
    joinLatency.p99Ms.toFixed(1),
  ]);
  const numeric = (column: number) => column !== 2 && column !== 3 && column !== header.length - 6;
  const separator = header.map((_, column) => (numeric(column) ? '---:' : '---'));
  return [header, separator, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
