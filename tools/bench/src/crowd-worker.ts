import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * One process of the crowd (see crowd.ts): connects its share of user clients, each
 * sending its id line and then reading what arrives, and reports over IPC. A process
 * holds a few thousand sockets, well inside its descriptor limit.
 *
 * argv: first user id, count, local address to connect from, gateway ports (comma list),
 * connections opened at a time. User `id` connects to `ports[id % ports.length]`.
 *
 * Messages (parent ⇄ worker; the parent forks with `serialization: 'advanced'`):
 * - → `ready` once loaded; ← `connect` (upTo?): opens every connection, sending `progress`
 *   every 250 ms meanwhile and `connected` (a CrowdWorkerConnected) at the end. With
 *   `upTo`, only that many are begun until an `allow` (upTo) lets more go.
 * - ← `arm` (seq): from now on each socket notes when the broadcast line `<seq>|B`
 *   first reaches it; → `armed`, then `complete` once every socket has it or is closed.
 * - ← `arrivals` (seq): → `arrivals` (CrowdWorkerArrivals), which may be partial.
 * - ← `stop`: → `stopped` (a CrowdWorkerReport), then closes everything and exits.
 *
 * Times are `performance.timeOrigin + performance.now()`: this machine's clock, in ms,
 * comparable between its processes.
 */
const RETRY_DELAY_MS = 100;
/**
 * Local ports are chosen here, below the ephemeral range (32768–60999 on Linux): a
 * connect from an address given with port 0 has the kernel search for a free port on
 * every bind, which made 5,000 connections from one address take 10 s instead of 1 s.
 * A port some listener holds on every address is skipped (EADDRINUSE, tried at once with
 * the next); past the last one the kernel picks again.
 */
const FIRST_LOCAL_PORT = 1024;
const LAST_LOCAL_PORT = 32767;
const MAX_ATTEMPTS = 50;
const PROGRESS_INTERVAL_MS = 250;
/** A broadcast line as the gateways send it, the CR kept (the line was split at LF). */
const BROADCAST_LINE = /^(\d+)\|B\r$/;

export interface CrowdWorkerReport {
  readonly connected: number;
  readonly closedByServer: number;
  readonly bytesReceived: number;
  /** Lines that were not a CRLF-terminated broadcast (counted once a round was armed). */
  readonly badLines: number;
  /** Broadcast lines whose sequence number was not above the socket's previous one. */
  readonly outOfOrder: number;
  /** Broadcast lines of a round other than the armed one. */
  readonly unexpected: number;
}

export interface CrowdWorkerConnected extends CrowdWorkerReport {
  /** When the first connection was begun, and the last id line written. */
  readonly firstConnectAtMs: number;
  readonly lastIdLineAtMs: number;
  /** Connection attempts that failed and were tried again. */
  readonly connectRetries: number;
  /** Index into the gateway ports of each socket, in socket order. */
  readonly portIndex: Uint8Array;
}

export interface CrowdWorkerProgress {
  readonly idLinesSent: number;
  /** Sockets the armed round's broadcast has reached. */
  readonly reached: number;
  readonly closedByServer: number;
}

export interface CrowdWorkerArrivals extends CrowdWorkerReport {
  readonly seq: number;
  /** When each socket first received the round's broadcast; 0 where it did not. */
  readonly atMs: Float64Array;
}

const now = (): number => performance.timeOrigin + performance.now();

const [firstUser, count, localAddress, portList, inFlight] = process.argv.slice(2) as [string, string, string, string, string];
const ports = portList.split(',').map(Number);
const first = Number(firstUser);
const total = Number(count);
const sockets: (Socket | undefined)[] = new Array(total);
const portIndex = new Uint8Array(total);
for (let i = 0; i < total; i++) portIndex[i] = (first + i) % ports.length;
const closed = new Uint8Array(total);
const lastSeq = new Float64Array(total);
let partial: (string | undefined)[] = [];
let arrivals = new Float64Array(total);
let armedSeq = 0;
let reached = 0;
/** Sockets of the armed round that closed before the broadcast reached them. */
let closedUnreached = 0;
let completeSent = true;
const counters = { bytesReceived: 0, closedByServer: 0, badLines: 0, outOfOrder: 0, unexpected: 0 };
let connected = 0;
let idLinesSent = 0;
let connectRetries = 0;
let firstConnectAtMs = 0;
let lastIdLineAtMs = 0;
let stopping = false;
/** Connections that may be begun; raised by `allow`. */
let allowed = total;
/** Lanes waiting for `allowed` to rise. */
const waitingLanes: (() => void)[] = [];

let nextLocalPort = FIRST_LOCAL_PORT;

function open(index: number): Promise<Socket> {
  const localPort = nextLocalPort <= LAST_LOCAL_PORT ? nextLocalPort++ : 0;
  return new Promise((resolve, reject) => {
    const socket = connect({ port: ports[portIndex[index]!]!, host: '127.0.0.1', localAddress, localPort }, () => {
      socket.write(`${first + index}\r\n`);
      lastIdLineAtMs = now();
      idLinesSent++;
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function openWithRetry(index: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const socket = await open(index);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => onData(index, chunk));
      socket.on('close', () => onClose(index));
      sockets[index] = socket;
      connected++;
      return;
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS) throw error;
      connectRetries++;
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') await delay(RETRY_DELAY_MS);
    }
  }
}

/** `inFlight` connections at a time, each lane opening the next as soon as its last one is done. */
async function connectAll(): Promise<void> {
  firstConnectAtMs = now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      if (next >= allowed) {
        await new Promise<void>((resolve) => waitingLanes.push(resolve));
        continue;
      }
      await openWithRetry(next++);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Number(inFlight), total) }, lane));
}

function onData(index: number, chunk: Buffer): void {
  counters.bytesReceived += chunk.length;
  // Nothing is parsed until a round is armed: the bench's extra users only count bytes.
  if (armedSeq === 0) return;
  const atMs = now();
  let text = chunk.toString('latin1');
  const tail = partial[index];
  if (tail !== undefined) text = tail + text;
  let start = 0;
  for (let end = text.indexOf('\n'); end >= 0; start = end + 1, end = text.indexOf('\n', start)) {
    onLine(index, text.slice(start, end), atMs);
  }
  partial[index] = start < text.length ? text.slice(start) : undefined;
}

function onLine(index: number, line: string, atMs: number): void {
  const match = BROADCAST_LINE.exec(line);
  if (!match) {
    counters.badLines++;
    return;
  }
  const seq = Number(match[1]);
  if (seq <= lastSeq[index]!) {
    counters.outOfOrder++;
    return;
  }
  lastSeq[index] = seq;
  if (seq !== armedSeq) {
    counters.unexpected++;
    return;
  }
  arrivals[index] = atMs;
  reached++;
  checkComplete();
}

function onClose(index: number): void {
  if (stopping) return;
  counters.closedByServer++;
  closed[index] = 1;
  if (armedSeq !== 0 && arrivals[index] === 0) closedUnreached++;
  checkComplete();
}

function checkComplete(): void {
  if (completeSent || reached + closedUnreached < total) return;
  completeSent = true;
  process.send!({ kind: 'complete', seq: armedSeq });
}

function arm(seq: number): void {
  armedSeq = seq;
  arrivals = new Float64Array(total);
  partial = [];
  reached = 0;
  closedUnreached = closed.reduce((sum, flag) => sum + flag, 0);
  completeSent = false;
  process.send!({ kind: 'armed', seq });
  checkComplete();
}

const report = (): CrowdWorkerReport => ({ connected, ...counters });
const progress = (): CrowdWorkerProgress => ({ idLinesSent, reached, closedByServer: counters.closedByServer });

function allow(upTo: number): void {
  allowed = Math.max(allowed, Math.min(total, upTo));
  for (const lane of waitingLanes.splice(0)) lane();
}

process.on('message', (message: { kind: string; seq?: number; upTo?: number }) => {
  switch (message.kind) {
    case 'connect': {
      if (message.upTo !== undefined) allowed = Math.min(total, message.upTo);
      const timer = setInterval(() => process.send!({ kind: 'progress', ...progress() }), PROGRESS_INTERVAL_MS);
      timer.unref();
      connectAll().then(
        () => {
          const done: CrowdWorkerConnected = { ...report(), firstConnectAtMs, lastIdLineAtMs, connectRetries, portIndex };
          process.send!({ kind: 'connected', ...done });
        },
        (error: Error) => {
          console.error(`crowd worker on ${localAddress}: ${error.message}`);
          process.exit(1);
        },
      );
      return;
    }
    case 'allow':
      allow(message.upTo!);
      return;
    case 'arm':
      arm(message.seq!);
      return;
    case 'arrivals': {
      const answer: CrowdWorkerArrivals = { ...report(), seq: armedSeq, atMs: arrivals };
      process.send!({ kind: 'arrivals', ...answer });
      return;
    }
    case 'stop':
      stopping = true;
      process.send!({ kind: 'stopped', ...report() }, () => {
        for (const socket of sockets) socket?.destroy();
        process.exit(0);
      });
      return;
    default:
  }
});
process.send!({ kind: 'ready' });
