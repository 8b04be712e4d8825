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
    serializers: { err: serializeError },
    ...(process.stdout.isTTY && {
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
    }),
  });
}

/**
 * pino's error serializer, without the arguments of the failed command that ioredis
 * attaches to its errors (`command: { name, args }`): those of a refused `HELLO` or `AUTH`
 * are the Redis password, and those of an append hold a whole batch of events.
 */
export function serializeError(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  const command = serialized['command'] as { name?: unknown } | undefined;
  return command === undefined ? serialized : { ...serialized, command: { name: command.name } };
}
