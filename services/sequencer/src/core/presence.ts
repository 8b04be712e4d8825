/**
 * Which users are connected, and through which gateways. A user is online while at
 * least one gateway holds a client for them.
 */
export class Presence {
  private readonly usersByGateway = new Map<string, Set<number>>();
  private readonly gatewaysByUser = new Map<number, Set<string>>();

  /** Returns true when the user was offline before. */
  join(gatewayId: string, userId: number): boolean {
    let users = this.usersByGateway.get(gatewayId);
    if (!users) this.usersByGateway.set(gatewayId, (users = new Set()));
    users.add(userId);
    let gateways = this.gatewaysByUser.get(userId);
    const cameOnline = !gateways;
    if (!gateways) this.gatewaysByUser.set(userId, (gateways = new Set()));
    gateways.add(gatewayId);
    return cameOnline;
  }

  /** Returns true when the user is now offline. */
  leave(gatewayId: string, userId: number): boolean {
    this.usersByGateway.get(gatewayId)?.delete(userId);
    const gateways = this.gatewaysByUser.get(userId);
    if (!gateways?.delete(gatewayId)) return false;
    if (gateways.size > 0) return false;
    this.gatewaysByUser.delete(userId);
    return true;
  }

  /** Forgets a gateway; returns the users that went offline with it. */
  dropGateway(gatewayId: string): number[] {
    const users = [...(this.usersByGateway.get(gatewayId) ?? [])];
    this.usersByGateway.delete(gatewayId);
    return users.filter((userId) => this.leave(gatewayId, userId));
  }

  /** Users with at least one client on some gateway. */
  get onlineUserCount(): number {
    return this.gatewaysByUser.size;
  }

  isOnline(userId: number): boolean {
    return this.gatewaysByUser.has(userId);
  }

  onlineUsers(): IterableIterator<number> {
    return this.gatewaysByUser.keys();
  }

  gatewaysOf(userId: number): ReadonlySet<string> | undefined {
    return this.gatewaysByUser.get(userId);
  }

  usersOf(gatewayId: string): ReadonlySet<number> {
    return this.usersByGateway.get(gatewayId) ?? new Set();
  }
}
