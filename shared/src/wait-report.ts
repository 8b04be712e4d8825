import { hostname } from 'node:os';
import type { RedisClient as Redis } from './redis.ts';
import type { Keys } from './keys.ts';
import type { Logger } from './logger.ts';

/** A wait shorter than this is ordinary flow control: it is neither logged nor shown. */
const SHOW_AFTER_MS = 1000;
/** While a wait lasts, it is logged again this often. */
const LOG_EVERY_MS = 5000;
/** How often the current waits are written to Redis for `ops status`. */
const PUBLISH_EVERY_MS = 1000;
/** A service that stops reporting (killed) vanishes from `ops status` after this long. */
const REPORT_TTL_MS = 3 * PUBLISH_EVERY_MS;

/**
 * Writes one process's waits and notes the process, with Redis's time, in the set readers
 * go by; processes silent for longer than the TTL (killed while waiting) leave that set
 * with the next report of any process.
 *
 * KEYS[1] this process's waits key   KEYS[2] waiting processes
 * ARGV[1] the waits, JSON            ARGV[2] process name   ARGV[3] TTL in ms
 */
const REPORT_LUA = `
local now = redis.call('TIME')
local nowMs = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], nowMs, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', nowMs - tonumber(ARGV[3]))
return 1
`;

type RedisWithWaitReport = Redis & {
  fmReportWaits(waitsKey: string, indexKey: string, waits: string, processName: string, ttlMs: number): Promise<number>;
};

/** This process's name in `ops status`: service, host and pid. */
export function processName(service: string): string {
  return `${service}-${hostname()}-${process.pid}`;
}

interface Wait {
  what: string;
  readonly sinceMs: number;
  lastLoggedMs: number;
  /** Waits that are the normal state of a process (a standby waiting for the lease) are shown but not logged as warnings. */
  readonly expected: boolean;
}

/** One wait as `ops status` shows it, measured on the waiting process's own clock. */
export interface ReportedWait {
  readonly what: string;
  /** When it began, ISO time of the waiting process. */
  readonly since: string;
  readonly forMs: number;
}

export interface WaitReportOptions {
  /** True for waits that are the process's normal state. */
  readonly expected?: boolean;
}

/**
 * What a process is waiting for (a missing sequence number, a gateway's
 * acknowledgements, Redis, the lease), said while it lasts: a warning when it has lasted
 * a second and every 5 s after, and a key `<prefix>:waits:<process>` (with a short TTL,
 * refreshed every second, the process listed in `<prefix>:waiting-processes`) that
 * `ops status` and `ops top` read. A stage that stands still is then never silent about why.
 */
export class WaitReport {
  private readonly waits = new Map<string, Wait>();
  private readonly timer: NodeJS.Timeout;
  private readonly redis: RedisWithWaitReport;
  private readonly key: string;
  private readonly indexKey: string;
  private published = false;

  constructor(
    redis: Redis,
    keys: Keys,
    /** The name this process reports under, e.g. `sequencer-vm-4242`. */
    private readonly processName: string,
    private readonly logger: Logger,
  ) {
    redis.defineCommand('fmReportWaits', { numberOfKeys: 2, lua: REPORT_LUA });
    this.redis = redis as RedisWithWaitReport;
    this.key = keys.waits(processName);
    this.indexKey = keys.waitingProcesses;
    this.timer = setInterval(() => this.tick(), PUBLISH_EVERY_MS);
    this.timer.unref();
  }

  /** Starts (or goes on with) the wait named `id`; `what` may change while it lasts (a growing count). */
  begin(id: string, what: string, { expected = false }: WaitReportOptions = {}): void {
    const wait = this.waits.get(id);
    if (wait) {
      wait.what = what;
      return;
    }
    const now = Date.now();
    this.waits.set(id, { what, sinceMs: now, lastLoggedMs: now - LOG_EVERY_MS + SHOW_AFTER_MS, expected });
  }

  end(id: string): void {
    const wait = this.waits.get(id);
    if (!wait) return;
    this.waits.delete(id);
    const forMs = Date.now() - wait.sinceMs;
    if (forMs >= SHOW_AFTER_MS && !wait.expected) this.logger.info({ forMs }, `no longer waiting for ${wait.what}`);
  }

  /** The waits that have lasted long enough to be shown. */
  current(now = Date.now()): ReportedWait[] {
    const shown: ReportedWait[] = [];
    for (const wait of this.waits.values()) {
      const forMs = now - wait.sinceMs;
      if (forMs >= SHOW_AFTER_MS) shown.push({ what: wait.what, since: new Date(wait.sinceMs).toISOString(), forMs });
    }
    return shown;
  }

  close(): void {
    clearInterval(this.timer);
    if (this.published) void this.withdraw().catch(() => undefined);
  }

  private tick(): void {
    const now = Date.now();
    for (const wait of this.waits.values()) {
      if (wait.expected || now - wait.lastLoggedMs < LOG_EVERY_MS) continue;
      wait.lastLoggedMs = now;
      this.logger.warn({ since: new Date(wait.sinceMs).toISOString(), forMs: now - wait.sinceMs }, `waiting for ${wait.what}`);
    }
    const shown = this.current(now);
    if (shown.length === 0 && !this.published) return;
    this.published = shown.length > 0;
    // Redis may be what is waited for: the report is best effort, the log line is not.
    const write = shown.length > 0
      ? this.redis.fmReportWaits(this.key, this.indexKey, JSON.stringify(shown), this.processName, REPORT_TTL_MS)
      : this.withdraw();
    void write.catch(() => undefined);
  }

  private withdraw(): Promise<unknown> {
    return this.redis.multi().del(this.key).zrem(this.indexKey, this.processName).exec();
  }
}
