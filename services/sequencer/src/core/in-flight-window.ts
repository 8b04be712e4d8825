/**
 * Bytes published to each gateway that it has not yet said it received. Redis
 * pub/sub has no back-pressure and drops a subscriber whose buffer overflows, so the
 * sequencer waits while the slowest gateway has too much in flight.
 */
export class InFlightWindow {
  /** gateway -> batches not yet acknowledged, oldest first, as [batchSeq, bytes]. */
  private readonly unacknowledged = new Map<string, [number, number][]>();
  private readonly totals = new Map<string, number>();

  record(batchSeq: number, bytesByGateway: ReadonlyMap<string, number>): void {
    for (const [gatewayId, bytes] of bytesByGateway) {
      let queue = this.unacknowledged.get(gatewayId);
      if (!queue) this.unacknowledged.set(gatewayId, (queue = []));
      queue.push([batchSeq, bytes]);
      this.totals.set(gatewayId, (this.totals.get(gatewayId) ?? 0) + bytes);
    }
  }

  /** The gateway has received every batch up to and including `batchSeq`. */
  acknowledge(gatewayId: string, batchSeq: number): void {
    const queue = this.unacknowledged.get(gatewayId);
    if (!queue) return;
    let total = this.totals.get(gatewayId) ?? 0;
    let done = 0;
    while (done < queue.length && queue[done]![0] <= batchSeq) total -= queue[done++]![1];
    if (done === queue.length) {
      this.forget(gatewayId);
      return;
    }
    queue.splice(0, done);
    this.totals.set(gatewayId, total);
  }

  forget(gatewayId: string): void {
    this.unacknowledged.delete(gatewayId);
    this.totals.delete(gatewayId);
  }

  /** Bytes in flight per gateway, for gateways that have any. */
  byGateway(): ReadonlyMap<string, number> {
    return this.totals;
  }

  /** The most bytes any one gateway has in flight. */
  largest(): number {
    return this.slowest()?.[1] ?? 0;
  }

  /** The gateway with the most bytes in flight, and how many; undefined when none has any. */
  slowest(): [gatewayId: string, bytes: number] | undefined {
    let slowest: [string, number] | undefined;
    for (const [gatewayId, total] of this.totals) if (!slowest || total > slowest[1]) slowest = [gatewayId, total];
    return slowest;
  }
}
