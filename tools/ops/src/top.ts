import { setTimeout as delay } from 'node:timers/promises';
import type { RedisTarget } from '@follower-maze/shared';
import { toolConnection } from '../../stack/src/tool-connection.ts';
import { targetKeys } from './operations-client.ts';
import { readTopSample } from './top-sample.ts';
import { renderTopScreen, type TopReading, type TopView } from './top-screen.ts';

const SAMPLE_INTERVAL_MS = 1000;
/** A gateway's rate needs an earlier sample that holds an older heartbeat of it: one or two back, a few to spare. */
const KEPT_READINGS = 5;
/** A command unanswered this long makes the sample fail (Redis shown unreachable) rather than freeze the screen. */
const COMMAND_TIMEOUT_MS = 2000;
/** While Redis is away, connecting is tried again this often: each screen says how the latest try went. */
const RECONNECT_DELAY_MS = SAMPLE_INTERVAL_MS;

const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?25h\x1b[?1049l';
const CURSOR_HOME = '\x1b[H';
const CLEAR_TO_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
/** Ctrl-C as a raw terminal delivers it: a key, not a signal. */
const CTRL_C = '\x03';
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface TopOptions {
  readonly target: RedisTarget;
  readonly keyPrefix: string;
  /** Print one screen (rates over one second) and exit: 0 if Redis answered, 1 if not. */
  readonly once: boolean;
}

export interface TopTerminal {
  readonly input: NodeJS.ReadStream;
  readonly output: NodeJS.WriteStream;
}

/**
 * `npm run ops -- top`: samples Redis every second and shows one screen. On a terminal it
 * redraws in place on the alternate screen until q, Ctrl-C or a signal, then gives the
 * terminal back as it was; otherwise (piped) it prints one screen per second as plain
 * lines, until a signal or the reader going away. Resolves with the exit code.
 */
export async function runTop(
  { target, keyPrefix, once }: TopOptions,
  { input, output }: TopTerminal = { input: process.stdin, output: process.stdout },
): Promise<number> {
  // Commands are not queued while disconnected: a sample then fails at once instead of waiting for a reconnection.
  const redis = toolConnection(target, {
    lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: COMMAND_TIMEOUT_MS, commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: () => RECONNECT_DELAY_MS,
  });
  // The connection's own error says why (refused, authentication); a failed command only that it failed.
  // Cleared once connected: a connection that closes without an error (Redis shut down) says nothing.
  let connectionError: string | undefined = 'not connected yet';
  // A cluster client that could not read the slot map carries why in `lastNodeError` (refused credentials, say).
  redis.on('error', (error: Error & { lastNodeError?: Error }) => (connectionError = (error.lastNodeError ?? error).message));
  redis.on('ready', () => (connectionError = undefined));
  await redis.connect().catch(() => undefined);
  const keys = targetKeys(target, keyPrefix);
  const readings: TopReading[] = [];
  const sample = async () => {
    const reading: TopReading = redis.status === 'ready'
      ? await readTopSample(redis, keys).then(
        (taken): TopReading => ({ ok: true, sample: taken }),
        (error: Error): TopReading => ({ ok: false, atMs: Date.now(), error: error.message }),
      )
      : { ok: false, atMs: Date.now(), error: connectionError ?? 'the connection was lost; connecting again' };
    readings.push(reading);
    if (readings.length > KEPT_READINGS) readings.shift();
  };
  const interactive = !once && output.isTTY === true && input.isTTY === true;
  const screen = () => {
    const view: TopView = {
      keyPrefix, redisHost: shownRedis(target), interactive, ...(interactive && { size: { columns: output.columns, rows: output.rows } }),
    };
    return renderTopScreen(readings.at(-1)!, readings.slice(0, -1), view);
  };
  try {
    if (once) {
      await sample();
      await delay(SAMPLE_INTERVAL_MS);
      await sample();
      output.write(`${screen()}\n`);
      return readings.at(-1)!.ok ? 0 : 1;
    }
    const stopped = new AbortController();
    const stop = () => stopped.abort();
    const draw = () => {
      if (readings.length === 0 || stopped.signal.aborted) return;
      if (interactive) output.write(`${CURSOR_HOME}${screen().split('\n').join(`${CLEAR_TO_LINE_END}\n`)}${CLEAR_TO_LINE_END}${CLEAR_BELOW}`);
      else output.write(`${screen()}\n\n`);
    };
    if (interactive) stopped.signal.addEventListener('abort', takeTerminal(input, output, stop, draw));
    for (const signal of STOP_SIGNALS) process.on(signal, stop);
    // Piped into a reader that went away (`| head`): nothing more to show.
    output.on('error', stop);
    try {
      while (!stopped.signal.aborted) {
        const startedMs = Date.now();
        await sample();
        draw();
        await delay(Math.max(0, SAMPLE_INTERVAL_MS - (Date.now() - startedMs)), undefined, { signal: stopped.signal }).catch(() => undefined);
      }
    } finally {
      for (const signal of STOP_SIGNALS) process.off(signal, stop);
      output.off('error', stop);
      stopped.abort();
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}

/** Raw keys and the alternate screen until the returned function gives the terminal back. */
function takeTerminal(input: NodeJS.ReadStream, output: NodeJS.WriteStream, quit: () => void, redraw: () => void): () => void {
  const onKey = (key: Buffer) => {
    const typed = key.toString();
    if (typed === 'q' || typed === 'Q' || typed === CTRL_C) quit();
  };
  output.write(ENTER_ALTERNATE_SCREEN);
  input.setRawMode(true);
  input.on('data', onKey);
  input.resume();
  output.on('resize', redraw);
  return () => {
    output.off('resize', redraw);
    input.off('data', onKey);
    input.setRawMode(false);
    input.pause();
    output.write(LEAVE_ALTERNATE_SCREEN);
  };
}

/** Host and port only (a URL may hold a password); a cluster's first seed node. */
function shownRedis(target: RedisTarget): string {
  const seeds = target.redisClusterNodes;
  return seeds ? `cluster ${hostOf(seeds[0]!)}${seeds.length > 1 ? ` +${seeds.length - 1}` : ''}` : hostOf(target.redisUrl);
}

function hostOf(redisUrl: string): string {
  try {
    return new URL(redisUrl).host || 'Redis';
  } catch {
    return 'Redis';
  }
}
