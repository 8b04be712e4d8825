import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { eventually, testRedis } from '../../../test/support/redis-fixture.ts';
import { PresenceStack } from './support/presence-stack.ts';

/** Few user ids, so that the same user joins, leaves and comes back while earlier steps are still in flight. */
const USER_IDS = 5;

type Action =
  | { readonly kind: 'connect'; readonly userId: number }
  | { readonly kind: 'disconnect'; readonly pick: number }
  | { readonly kind: 'heartbeat' | 'reload' | 'drop-connection' }
  | { readonly kind: 'lose-writes'; readonly pick: number; readonly strayUserId: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('connect' as const), userId: fc.integer({ min: 1, max: USER_IDS }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'heartbeat' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'reload' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drop-connection' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('lose-writes' as const), pick: fc.nat(), strayUserId: fc.integer({ min: 1, max: USER_IDS }) }),
  },
);
/** Each action is started, not awaited; the pause (event loop turns) lets some of what is in flight progress. */
const step = fc.record({ action, pause: fc.integer({ min: 0, max: 3 }) });

interface Client {
  readonly userId: number;
  readonly socket: Socket;
  announced: boolean;
  removed: boolean;
}

/**
 * Runs the steps against one gateway's sessions, presence and heartbeat, and checks every
 * reload (a sequencer reading the presence set) while the rest is in flight (users whose
 * presence a simulated Redis restart lost are exempt, until the end):
 * - a user with a client whose join had settled when the read was sent, and that is
 *   still connected when the answer comes, is in the set;
 * - a user whose leave had settled when the read was sent, and who has not connected
 *   again by the answer, is not.
 * At the end, with everything settled and a heartbeat sent, the set, the join and
 * leave messages and the subscribed channels all say exactly the connected users.
 */
class Run {
  private clock = 0;
  private readonly clients: Client[] = [];
  private readonly lastConnectAt = new Map<number, number>();
  /** When each user's last leave settled, for users with no client since. */
  private readonly leftAt = new Map<number, number>();
  /** Never rejects: what a reload finds wrong goes to `violations`, so that fast-check can shrink the steps. */
  private readonly inFlight: Promise<unknown>[] = [];
  private readonly violations: string[] = [];
  /** Users whose presence Redis lost (simulated): wrong until the next heartbeat after the drop has reconciled. */
  private readonly lost = new Set<number>();
  private readonly reader = testRedis();

  constructor(private readonly stack: PresenceStack) {}

  start(step: Action): void {
    switch (step.kind) {
      case 'connect':
        return this.connect(step.userId);
      case 'disconnect': {
        const live = this.clients.filter((client) => !client.removed);
        if (live.length > 0) this.disconnect(live[step.pick % live.length]!);
        return;
      }
      case 'heartbeat':
        this.inFlight.push(this.stack.progress.heartbeat().catch(() => undefined));
        return;
      case 'reload':
        this.inFlight.push(this.reload().catch((error: Error) => this.violations.push(`reload failed: ${error.message}`)));
        return;
      case 'drop-connection':
        if (this.stack.redis.status === 'ready') this.inFlight.push(this.stack.dropCommandConnection());
        return;
      case 'lose-writes':
        return this.loseWrites(step.pick, step.strayUserId);
    }
  }

  async finish(): Promise<void> {
    // A failed check must not leave the reader's connection open: the test process would never exit.
    try {
      while (this.inFlight.length > 0) await Promise.all(this.inFlight.splice(0));
      await this.stack.redis.ping();
      assert.deepEqual(this.violations, [], 'every reload saw the connected users in the set and no departed one');
      await this.stack.progress.heartbeat();
      const connected = new Set(this.clients.filter((client) => !client.removed).map((client) => client.userId));
      assert.deepEqual(new Set((await this.reader.smembers(this.stack.presenceKey)).map(Number)), connected, 'the set is the connected users');
      await eventually(() => assert.deepEqual(this.stack.onlineByMessages(), connected, 'the messages say the connected users'));
      const userIds = Array.from({ length: USER_IDS }, (_, i) => i + 1);
      const counts = (await this.reader.call('PUBSUB', 'NUMSUB', ...userIds.map((userId) => this.stack.keys.userChannel(userId)))) as unknown[];
      const subscribed = new Set(userIds.filter((_, i) => Number(counts[2 * i + 1]) > 0));
      assert.deepEqual(subscribed, connected, 'the channels subscribed are the connected users\'');
    } finally {
      this.reader.disconnect();
    }
  }

  private connect(userId: number): void {
    const client: Client = { userId, socket: PresenceStack.client(), announced: false, removed: false };
    this.clients.push(client);
    this.lastConnectAt.set(userId, ++this.clock);
    this.leftAt.delete(userId);
    this.inFlight.push(
      this.stack.sessions.add(userId, client.socket, 0).then(
        () => (client.announced = true),
        // As the gateway does: a client whose user could not be announced is disconnected.
        () => this.disconnect(client),
      ),
    );
  }

  private disconnect(client: Client): void {
    if (client.removed) return;
    client.removed = true;
    const removedAt = ++this.clock;
    this.inFlight.push(
      this.stack.sessions.remove(client.userId, client.socket).then(
        () => {
          const gone = !this.clients.some((other) => other.userId === client.userId && !other.removed);
          if (gone && this.lastConnectAt.get(client.userId)! < removedAt) this.leftAt.set(client.userId, ++this.clock);
        },
        () => undefined, // Refused or cut off: the heartbeat's reconciliation puts it right, checked at the end.
      ),
    );
  }

  /** As a Redis restart that lost its last second would: a connected user's join and a departed one's leave are undone. */
  private loseWrites(pick: number, strayUserId: number): void {
    const announced = this.clients.filter((client) => client.announced && !client.removed);
    const lostJoin = announced[pick % Math.max(1, announced.length)]?.userId;
    const strayIsConnected = this.clients.some((client) => client.userId === strayUserId && !client.removed);
    const transaction = this.reader.multi();
    if (lostJoin !== undefined) {
      this.lost.add(lostJoin);
      transaction.srem(this.stack.presenceKey, lostJoin);
    }
    if (!strayIsConnected) {
      this.lost.add(strayUserId);
      transaction.sadd(this.stack.presenceKey, strayUserId);
    }
    this.inFlight.push(transaction.exec().then(() => this.stack.dropCommandConnection(), (error: Error) => this.violations.push(error.message)));
  }

  private async reload(): Promise<void> {
    const sentAt = this.clock;
    const announced = this.clients.filter((client) => client.announced && !client.removed);
    const left = Array.from(this.leftAt.keys());
    const members = new Set((await this.reader.smembers(this.stack.presenceKey)).map(Number));
    for (const client of announced) {
      if (!client.removed && !this.lost.has(client.userId) && !members.has(client.userId)) {
        this.violations.push(`connected user ${client.userId} missing from the set`);
      }
    }
    for (const userId of left) {
      if (this.lastConnectAt.get(userId)! <= sentAt && !this.lost.has(userId) && members.has(userId)) {
        this.violations.push(`departed user ${userId} in the set`);
      }
    }
  }
}

test('presence: a connected user is always in the set, a departed one is not, whatever the interleaving of joins, leaves, heartbeats, reloads and dropped connections', async () => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
      const stack = await PresenceStack.start(`gw-presence-property-${runs++}`);
      try {
        const run = new Run(stack);
        await stack.progress.heartbeat();
        for (const { action, pause } of steps) {
          run.start(action);
          for (let turn = 0; turn < pause; turn++) await new Promise((resolve) => setImmediate(resolve));
        }
        await run.finish();
      } finally {
        await stack.stop();
      }
    }),
    { numRuns: 150 },
  );
});

test('presence: reconciling after Redis lost the set, while users leave and join, ends with the set and the messages right', async () => {
  const reader = testRedis();
  for (let round = 0; round < 5; round++) {
    const stack = await PresenceStack.start(`gw-presence-reconcile-${round}`);
    try {
      const connected = new Map<number, Socket>();
      const connect = (userId: number) => {
        const socket = PresenceStack.client();
        connected.set(userId, socket);
        return stack.sessions.add(userId, socket, 0);
      };
      const settling: Promise<unknown>[] = [];
      await Promise.all(Array.from({ length: 3000 }, (_, i) => connect(i + 1)));
      await stack.progress.heartbeat();
      // A restart of Redis lost the whole set.
      await reader.del(stack.presenceKey);
      await stack.dropCommandConnection();
      const reconciled = stack.progress.heartbeat();
      // Users come and go a few at a time while the reconciliation reads the set, chunk by chunk.
      for (let i = 0; i < 3000; i += 100) {
        for (let userId = i + 1; userId <= i + 40; userId++) {
          settling.push(stack.sessions.remove(userId, connected.get(userId)!));
          connected.delete(userId);
        }
        settling.push(connect(10_000 + i));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await reconciled;
      await Promise.all(settling);
      await stack.progress.heartbeat();
      const expected = new Set(connected.keys());
      assert.deepEqual(new Set((await reader.smembers(stack.presenceKey)).map(Number)), expected, 'the set is the connected users');
      await eventually(() => assert.deepEqual(stack.onlineByMessages(), expected, 'the messages say the connected users'));
    } finally {
      await stack.stop();
    }
  }
  reader.disconnect();
});
