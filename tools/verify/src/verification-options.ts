import type { LineEnding } from './shuffled-batch-encoder.ts';

export interface ProgressSnapshot {
  eventsSent: number;
  notificationsReceived: number;
  notificationsExpected: number;
  elapsedMs: number;
}

/** Progress read at any moment, with the highest sequence number any client received as expected. */
export interface LiveProgress extends ProgressSnapshot {
  highestSeqReceived: number;
}

/** One message on the wire, for debug output. Events are reported in sequence order, as generated. */
export type WireMessage =
  | { direction: 'event'; payload: string }
  | { direction: 'notification'; userId: number; payload: string };

export interface VerificationOptions {
  eventHost: string;
  eventPort: number;
  clientHost: string;
  /** User clients are spread over these ports round-robin. */
  clientPorts: number[];
  totalEvents: number;
  concurrencyLevel: number;
  numberOfUsers: number;
  randomSeed: number;
  /** How long a client may wait for its next expected notification. */
  timeoutMs: number;
  maxEventSourceBatchSize: number;
  lineEnding: LineEnding;
  /** Pause between the last id line and the first event. Default: the standard checker's 200 ms. */
  sourceStartDelayMs?: number;
  /** Quiet period after the last expected notification during which extras are still caught. */
  graceMs?: number;
  /** Caps the source's rate, so that a run lasts long enough for crash tests to act during it. Default: as fast as the server reads. */
  maxEventsPerSecond?: number;
  /**
   * A user client whose connection the server closes connects again, to the next of
   * `clientPorts` round-robin, and sends its id line again; what it missed while
   * offline is not held against it (see ClientVerifier). Default false: a closed
   * connection fails the run.
   */
  reconnect?: boolean;
  onProgress?: (p: ProgressSnapshot) => void;
  /** Called as the run starts with a cheap reader of its progress, for callers that act at given moments (fault injection). */
  onStart?: (progress: () => LiveProgress) => void;
  /** Costly: formats every message. For logLevel=debug. */
  onMessage?: (m: WireMessage) => void;
  /** Called as a client writes its id line (on every connection), with `performance.now()`: when its user should count as connected. */
  onIdLineSent?: (userId: number, atMs: number) => void;
}

/** As the standard checker: its source starts 200 ms after the last id line was sent. */
export const DEFAULT_SOURCE_START_DELAY_MS = 200;
export const DEFAULT_GRACE_MS = 500;

const MAX_PORT = 65_535;
/** Sequence numbers travel in 32-bit arrays. */
const MAX_TOTAL_EVENTS = 0xffff_ffff;
/** The oracle and generator keep per-user arrays. */
const MAX_USERS = 10_000_000;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

type Env = NodeJS.ProcessEnv;

function invalid(name: string, raw: string, expected: string, example: string): ConfigurationError {
  return new ConfigurationError(`invalid ${name}=${JSON.stringify(raw)}: expected ${expected}, e.g. ${name}=${example}`);
}

function integerFrom(env: Env, name: string, fallback: number, min: number, max: number, example: string): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(name, raw, `an integer from ${min} to ${max}`, example);
  }
  return value;
}

function portFrom(env: Env, name: string, fallback: number): number {
  return integerFrom(env, name, fallback, 1, MAX_PORT, String(fallback));
}

function portListFrom(env: Env, name: string): number[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const ports = raw.split(',').map((part) => Number(part.trim()));
  if (ports.some((port) => !Number.isInteger(port) || port < 1 || port > MAX_PORT)) {
    throw invalid(name, raw, `a comma-separated list of TCP ports`, '9099,9100');
  }
  return ports;
}

function hostFrom(env: Env, name: string): string {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return '127.0.0.1';
  if (/\s/.test(raw.trim())) throw invalid(name, raw, 'a host name or IP address', '127.0.0.1');
  return raw.trim();
}

function lineEndingFrom(env: Env): LineEnding {
  const raw = env['lineEnding'];
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'crlf') return '\r\n';
  if (raw.trim() === 'lf') return '\n';
  throw invalid('lineEnding', raw, '"crlf" or "lf"', 'crlf');
}

/** Reads the checker's environment variables (protocol.md) plus this client's extensions. */
export function optionsFromEnv(env: Env): VerificationOptions {
  const concurrencyLevel = integerFrom(env, 'concurrencyLevel', 100, 1, 1_000_000, '100');
  const minUsers = Math.max(2, concurrencyLevel);
  const clientPort = portFrom(env, 'clientListenerPort', 9099);
  return {
    eventHost: hostFrom(env, 'eventListenerHost'),
    eventPort: portFrom(env, 'eventListenerPort', 9090),
    clientHost: hostFrom(env, 'clientListenerHost'),
    clientPorts: portListFrom(env, 'clientListenerPorts') ?? [clientPort],
    totalEvents: integerFrom(env, 'totalEvents', 10_000_000, 1, MAX_TOTAL_EVENTS, '10000000'),
    concurrencyLevel,
    numberOfUsers: integerFrom(env, 'numberOfUsers', concurrencyLevel * 10, minUsers, MAX_USERS, String(concurrencyLevel * 10)),
    randomSeed: integerFrom(env, 'randomSeed', 666, -0x8000_0000, 0xffff_ffff, '666'),
    timeoutMs: integerFrom(env, 'timeout', 20_000, 1, 86_400_000, '20000'),
    maxEventSourceBatchSize: integerFrom(env, 'maxEventSourceBatchSize', 100, 1, 100_000, '100'),
    lineEnding: lineEndingFrom(env),
  };
}

export function logLevelFromEnv(env: Env): LogLevel {
  const raw = env['logLevel'];
  if (raw === undefined || raw.trim() === '') return 'info';
  const level = LOG_LEVELS.find((candidate) => candidate === raw.trim().toLowerCase());
  if (level === undefined) throw invalid('logLevel', raw, LOG_LEVELS.join(' | '), 'info');
  return level;
}
