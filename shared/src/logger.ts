import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON line per log record with a `service` field; pretty-printed when a person
 * watches it in a terminal. Nothing on the hot path logs per event or notification.
 */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    ...(process.stdout.isTTY && {
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
    }),
  });
}
