import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ThrottledWarning } from '../src/throttled-warning.ts';

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

test('a repeated warning is one line per interval, carrying the count of what it stands for', async (t) => {
  t.mock.timers.enable({ apis: ['Date'] });
  const { logger, lines } = recordingLogger();
  const warning = new ThrottledWarning(logger, 'redis connection error', 1000);
  for (let i = 0; i < 50; i++) warning.warn({ err: 'ECONNREFUSED' });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!['repeatedSinceLastLine'], undefined, 'the first line stands for itself');
  t.mock.timers.tick(1000);
  warning.warn({ err: 'ECONNREFUSED' });
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!['repeatedSinceLastLine'], 49);
  assert.equal(lines[1]!['msg'], 'redis connection error');
});
