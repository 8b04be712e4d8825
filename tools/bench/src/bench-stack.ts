/** The private stack both benches start: one address, one key prefix, counters every second. */
export const HOST = '127.0.0.1';
export const KEY_PREFIX = 'bench';
/** Counters every second at info: their event-loop delays are read back for the report. */
export const COUNTERS_INTERVAL_MS = 1000;

/** The environment every service of a bench's stack gets. */
export function benchStackEnv(eventPort: number, clientPort: number): NodeJS.ProcessEnv {
  return {
    EVENT_PORT: String(eventPort), CLIENT_PORT: String(clientPort), LISTEN_HOST: HOST, KEY_PREFIX, LOG_LEVEL: 'info',
    METRICS_INTERVAL_MS: String(COUNTERS_INTERVAL_MS),
  };
}
