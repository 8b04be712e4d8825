import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A deliberately wrong behaviour, applied at the nth notification the server
 * delivers (counting from 1 over all clients).
 * - drop: never sends it.
 * - reorder: sends it after the next notification for the same client.
 * - duplicate: sends it twice in a row.
 * - extra: also sends it to a connected user who is not a recipient (at the
 *   first event from the nth notification on that has one).
 * - disconnect: closes the recipient's connection instead (legitimate, like a
 *   gateway that dies; the client may reconnect).
 */
export type Fault = { kind: 'drop' | 'reorder' | 'duplicate' | 'extra' | 'disconnect'; nth: number };

export interface InMemoryServer {
  eventPort: number;
  clientPort: number;
  close(): Promise<void>;
}

interface ParsedEvent {
  payload: string;
  type: string;
  from: number;
  to: number;
}

/** Calls `onLine` for every line of a socket, CRLF or bare LF terminated. */
function readLines(socket: Socket, onLine: (line: string) => void): void {
  let partial = '';
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  });
}

function parseEvent(payload: string): [number, ParsedEvent] {
  const [seq, type, from, to] = payload.split('|');
  return [Number(seq), { payload, type: type!, from: Number(from), to: Number(to) }];
}

/**
 * Reference follower-maze server for tests: single process, everything in
 * memory, correct unless a fault is injected.
 */
class ReferenceServer {
  private readonly clients = new Map<number, Socket>();
  private readonly followers = new Map<number, Set<number>>();
  private readonly waiting = new Map<number, ParsedEvent>();
  private readonly heldForReorder = new Map<number, string>();
  private readonly sockets = new Set<Socket>();
  private nextSeq = 1;
  private delivered = 0;
  private extraSent = false;

  constructor(private readonly fault: Fault | undefined) {}

  acceptEventSource(socket: Socket): void {
    this.track(socket);
    readLines(socket, (line) => {
      if (line === '') return;
      const [seq, event] = parseEvent(line);
      this.waiting.set(seq, event);
      for (let next = this.waiting.get(this.nextSeq); next !== undefined; next = this.waiting.get(this.nextSeq)) {
        this.waiting.delete(this.nextSeq++);
        this.process(next);
      }
    });
  }

  acceptUserClient(socket: Socket): void {
    this.track(socket);
    let userId: number | undefined;
    readLines(socket, (line) => {
      if (userId !== undefined) return;
      userId = Number(line);
      this.clients.set(userId, socket);
      // A reconnected client may already have replaced this connection.
      socket.on('close', () => {
        if (this.clients.get(userId!) === socket) this.clients.delete(userId!);
      });
    });
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
  }

  private process(event: ParsedEvent): void {
    const recipients = this.applyToGraph(event);
    for (const userId of recipients) this.deliver(userId, event.payload);
    if (this.fault?.kind === 'extra' && !this.extraSent && this.delivered >= this.fault.nth) {
      const outsider = [...this.clients.keys()].find((userId) => !recipients.includes(userId));
      if (outsider !== undefined) {
        this.extraSent = true;
        this.write(outsider, event.payload);
      }
    }
  }

  /** Updates the follow graph and returns the connected users to notify. */
  private applyToGraph(event: ParsedEvent): number[] {
    switch (event.type) {
      case 'F': {
        const followers = this.followers.get(event.to) ?? new Set<number>();
        followers.add(event.from);
        this.followers.set(event.to, followers);
        return this.connected([event.to]);
      }
      case 'U':
        this.followers.get(event.to)?.delete(event.from);
        return [];
      case 'B':
        return [...this.clients.keys()];
      case 'P':
        return this.connected([event.to]);
      case 'S':
        return this.connected([...(this.followers.get(event.from) ?? [])]);
      default:
        throw new Error(`unknown event type in ${JSON.stringify(event.payload)}`);
    }
  }

  private connected(userIds: number[]): number[] {
    return userIds.filter((userId) => this.clients.has(userId));
  }

  private deliver(userId: number, payload: string): void {
    this.delivered++;
    const held = this.heldForReorder.get(userId);
    if (this.delivered === this.fault?.nth && this.fault.kind !== 'extra') {
      if (this.fault.kind === 'drop') return;
      if (this.fault.kind === 'disconnect') {
        this.clients.get(userId)?.destroy();
        return;
      }
      if (this.fault.kind === 'reorder') {
        this.heldForReorder.set(userId, payload);
        return;
      }
      this.write(userId, payload);
    }
    this.write(userId, payload);
    if (held !== undefined) {
      this.heldForReorder.delete(userId);
      this.write(userId, held);
    }
  }

  private write(userId: number, payload: string): void {
    this.clients.get(userId)?.write(`${payload}\r\n`);
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startInMemoryServer(fault?: Fault): Promise<InMemoryServer> {
  const reference = new ReferenceServer(fault);
  const eventServer = createServer((socket) => reference.acceptEventSource(socket));
  const clientServer = createServer((socket) => reference.acceptUserClient(socket));
  const [eventPort, clientPort] = await Promise.all([listen(eventServer), listen(clientServer)]);
  return {
    eventPort,
    clientPort,
    close: async () => {
      reference.destroyAll();
      await Promise.all([eventServer, clientServer].map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
