import { ConfigurationError, logLevelFromEnv, optionsFromEnv, runVerification, type VerificationOptions } from './index.ts';

const SUCCESS_BANNER = 'ALL NOTIFICATIONS RECEIVED';

function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** One line per second: progress and the rates since the previous line. */
function progressPrinter(): NonNullable<VerificationOptions['onProgress']> {
  let previous = { notificationsReceived: 0, elapsedMs: 0 };
  return (p) => {
    const seconds = (p.elapsedMs - previous.elapsedMs) / 1000;
    const rate = seconds > 0 ? (p.notificationsReceived - previous.notificationsReceived) / seconds : 0;
    previous = p;
    console.log(
      `[${(p.elapsedMs / 1000).toFixed(1)} s] events sent ${formatCount(p.eventsSent)}, ` +
        `notifications ${formatCount(p.notificationsReceived)} / ${formatCount(p.notificationsExpected)} expected, ` +
        `${formatCount(rate)} notifications/s`,
    );
  };
}

async function main(): Promise<number> {
  let options: VerificationOptions;
  try {
    options = optionsFromEnv(process.env);
    if (logLevelFromEnv(process.env) === 'debug') {
      options.onMessage = (m) =>
        console.log(m.direction === 'event' ? `event        ${m.payload}` : `notification ${m.payload} -> user ${m.userId}`);
    }
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    console.error(error.message);
    return 2;
  }
  options.onProgress = progressPrinter();
  console.log(
    `verifying ${formatCount(options.totalEvents)} events, ${options.concurrencyLevel} clients of ${options.numberOfUsers} users, ` +
      `seed ${options.randomSeed}, events to ${options.eventHost}:${options.eventPort}, ` +
      `clients to ${options.clientHost}:${options.clientPorts.join(',')}`,
  );
  const report = await runVerification(options);
  console.log(
    `${formatCount(report.eventsSent)} events, ${formatCount(report.notificationsReceived)} / ` +
      `${formatCount(report.notificationsExpected)} notifications in ${(report.durationMs / 1000).toFixed(2)} s: ` +
      `${formatCount(report.eventsPerSecond)} events/s, ${formatCount(report.notificationsPerSecond)} notifications/s, ` +
      `latency p50 ${report.latencyMs.p50.toFixed(2)} ms, p99 ${report.latencyMs.p99.toFixed(2)} ms ` +
      `(${formatCount(report.latencyMs.samples)} samples)`,
  );
  if (report.ok) {
    console.log(SUCCESS_BANNER);
    return 0;
  }
  console.error('VERIFICATION FAILED');
  for (const failure of report.failures) console.error(`  ${failure}`);
  return 1;
}

process.exitCode = await main();
