import { relative } from 'node:path';
import { FAULT_NAMES, type FaultName } from './faults.ts';
import type { SoakRunResult } from './soak-run.ts';

/** Failures printed under a failed run; the kept log holds the rest of the story. */
const FAILURES_SHOWN = 5;
const FAULT_WIDTH = Math.max(...FAULT_NAMES.map((name) => name.length));

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function formatRecovery(ms: number | undefined): string {
  return ms === undefined ? 'never' : `${formatCount(ms)} ms`;
}

/** One line per run: fault, run i/N, verdict, recovery time, events, duration, what the fault did. */
export function formatRunLine(result: SoakRunResult, runsPerFault: number): string {
  const { report } = result;
  const width = String(runsPerFault).length;
  const parts = [
    `${result.fault.padEnd(FAULT_WIDTH)}  run ${String(result.run).padStart(width)}/${runsPerFault}  ${result.ok ? 'ok    ' : 'FAILED'}`,
    `recovery ${formatRecovery(result.recoveryMs).padStart(8)}`,
    report === undefined
      ? 'no verification'
      : `${formatCount(report.eventsSent)} events in ${(report.durationMs / 1000).toFixed(1)} s, ` +
        `p50 latency ${formatCount(report.latencyMs.p50)} ms (run ${(result.wallMs / 1000).toFixed(1)} s)`,
  ];
  if (result.faultDetail !== undefined && result.faultAtMs !== undefined) {
    parts.push(`fault at ${(result.faultAtMs / 1000).toFixed(1)} s: ${result.faultDetail}`);
  }
  if (report !== undefined && report.clientsReconnected > 0) {
    parts.push(`${report.clientsReconnected} clients reconnected, ${formatCount(report.notificationsMissedOffline)} notifications missed offline`);
  }
  if (result.crowdClosed) parts.push(`${formatCount(result.crowdClosed)} of the crowd closed by a gateway`);
  if (result.restarted.length > 0) parts.push(`restarted: ${result.restarted.join(', ')}`);
  return `  ${parts.join('  ')}`;
}

/** Under a failed run: its first failures and where the services' log was kept. */
export function formatFailure(result: SoakRunResult, repoRoot: string): string {
  const lines = result.failures.slice(0, FAILURES_SHOWN).map((failure) => `      ! ${failure}`);
  if (result.failures.length > FAILURES_SHOWN) lines.push(`      ! ... ${result.failures.length - FAILURES_SHOWN} more listed`);
  lines.push(`      verification seed ${result.verificationSeed}`);
  if (result.keptLog !== undefined) lines.push(`      services' log: ${relative(repoRoot, result.keptLog)}`);
  return lines.join('\n');
}

/** Per fault: runs passed, and the worst and median time to recover ("never" counts as the longest). */
export function formatSummaryTable(results: readonly SoakRunResult[], faults: readonly FaultName[]): string {
  const rows = faults.map((fault) => {
    const runs = results.filter((result) => result.fault === fault);
    const recoveries = runs.map(({ recoveryMs }) => recoveryMs ?? Infinity).sort((a, b) => a - b);
    const passed = runs.filter(({ ok }) => ok).length;
    return [fault, `${passed}/${runs.length}`, recoveryCell(recoveries.at(-1)), recoveryCell(median(recoveries))];
  });
  const header = ['fault', 'passed', 'worst recovery', 'median recovery'];
  const separator = ['---', '---:', '---:', '---:'];
  return [header, separator, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

function recoveryCell(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return formatRecovery(Number.isFinite(ms) ? ms : undefined);
}

function median(sorted: readonly number[]): number | undefined {
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
