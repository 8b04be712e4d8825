import type { RedisClient as Redis } from '@follower-maze/shared';
import { encodeGatewayEvent, execTransaction, type Keys, type WaitReport } from '@follower-maze/shared';
import { chunksOf, ITEMS_PER_COMMAND } from './chunks.ts';

/**
 * This gateway's users as the sequencer sees them: the presence set
 * `<prefix>:presence:<gateway>`, which a sequencer reads when it loads presence (a new
 * term, a reconnect), and the join and leave messages it follows in between.
 *
 * Every write goes through the one command connection, so Redis applies them in the order
 * they were issued, and `announced` holds the users whose last issued write was a join.
 * The set is never deleted or rewritten from a list taken earlier: a write decided on an
 * older view would remove a user whose join was issued after the view was taken.
 *
 * The set can still differ from `announced` when Redis lost writes (a restart under
 * `appendfsync everysec`, or the connection dropped with writes unanswered) or refused
 * them (OOM, READONLY). Then `reconcileIfDue` compares the two, a chunk at a time, and
 * writes the difference with its join and leave messages, so that a sequencer that
 * loaded the set meanwhile hears of it too. Reconciling only then, rather than rewriting
 * the set with every heartbeat, keeps a heartbeat cheap at any number of users.
 */
export class GatewayPresence {
  private readonly announced = new Set<number>();
  private readonly key: string;
  /** Set when the set in Redis may differ from `announced`. */
  private due = false;
  private reconciling = false;
  /** Joins whose write Redis refused: each settles once a reconciliation begun after its refusal has written it. */
  private awaitingReconciliation: (() => void)[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly gatewayId: string,
    private readonly waits: WaitReport,
  ) {
    this.key = keys.presence(gatewayId);
    // A dropped connection may take writes with it unanswered, and a restarted Redis may have lost some.
    redis.on('close', () => (this.due = true));
  }

  /**
   * Settles once the users are in the set and the sequencer told; issue it only once their
   * channels are subscribed. When Redis refuses the write (OOM, READONLY, a restart), the
   * users stay announced and the next reconciliation writes them: their clients wait for
   * that, as they would for a slow join, rather than being turned away for a passing fault.
   */
  join(userIds: readonly number[]): Promise<void> {
    for (const userId of userIds) this.announced.add(userId);
    return this.writeChunks('join', userIds).catch(() => new Promise<void>((resolve) => this.awaitingReconciliation.push(resolve)));
  }

  /** Settles once the users are out of the set and the sequencer told. */
  leave(userIds: readonly number[]): Promise<void> {
    // A user whose join was never issued is not in the set.
    return this.writeChunks('leave', userIds.filter((userId) => this.announced.delete(userId)));
  }

  /** Makes the set hold exactly the announced users again, when it may not. A failure leaves it due. */
  async reconcileIfDue(): Promise<void> {
    if (!this.due || this.reconciling) return;
    // Cleared first: a connection drop while this runs makes it due again.
    this.due = false;
    this.reconciling = true;
    // Only joins refused before this began: a later one may have missed its reading of `announced`.
    const joins = this.awaitingReconciliation;
    this.awaitingReconciliation = [];
    try {
      await this.removeStrays();
      await this.addMissing();
      this.waits.end('presence');
      for (const settle of joins) settle();
    } catch (error) {
      this.awaitingReconciliation = joins.concat(this.awaitingReconciliation);
      this.failed(error as Error);
      throw error;
    } finally {
      this.reconciling = false;
    }
  }

  /** Members of the set that are not announced, decided when each chunk's removal is issued. */
  private async removeStrays(): Promise<void> {
    let cursor = '0';
    do {
      const [next, members] = await this.redis.sscan(this.key, cursor, 'COUNT', ITEMS_PER_COMMAND);
      cursor = next;
      const strays = members.map(Number).filter((userId) => !this.announced.has(userId));
      if (strays.length > 0) await this.write('leave', strays);
    } while (cursor !== '0');
  }

  /** Announced users the set lacks; one that left while its chunk was being read is skipped. */
  private async addMissing(): Promise<void> {
    for (const chunk of chunksOf(Array.from(this.announced))) {
      const present = await this.redis.smismember(this.key, chunk);
      const missing = chunk.filter((userId, index) => present[index] === 0 && this.announced.has(userId));
      if (missing.length > 0) await this.write('join', missing);
    }
  }

  /** A transaction per chunk, all issued at once (in order, on the one connection). */
  private async writeChunks(kind: 'join' | 'leave', users: readonly number[]): Promise<void> {
    if (users.length > 0) await Promise.all(Array.from(chunksOf(users), (chunk) => this.write(kind, chunk)));
  }

  /**
   * One transaction, so a sequencer that loads the set sees it with or without the
   * message's effect, never half of it; one message names every user of the chunk.
   */
  private async write(kind: 'join' | 'leave', users: number[]): Promise<void> {
    const transaction = this.redis.multi();
    if (kind === 'join') transaction.sadd(this.key, users);
    else transaction.srem(this.key, users);
    transaction.publish(this.keys.gatewayEvents, encodeGatewayEvent({ kind, gatewayId: this.gatewayId, userIds: users }));
    try {
      await execTransaction(transaction);
    } catch (error) {
      this.failed(error as Error);
      throw error;
    }
  }

  private failed(error: Error): void {
    this.due = true;
    this.waits.begin('presence', `Redis to accept this gateway's presence (${error.message})`);
  }
}
