import type { MazeEvent } from '@follower-maze/shared';
import type { Batch } from './batch.ts';
import { FollowGraph } from './follow-graph.ts';
import { Presence } from './presence.ts';

/**
 * The routing rules of protocol.md ("Who is notified") over the follow graph and
 * who is online. Events must be routed in sequence order; presence may change between
 * any two events.
 */
export class Router {
  readonly presence = new Presence();
  readonly graph = new FollowGraph((userId) => this.presence.isOnline(userId));

  /** Applies one event to the follow graph and puts its notifications, for online users only, into the batch. */
  route(event: MazeEvent, batch: Batch): void {
    batch.events++;
    switch (event.type) {
      case 'F':
        this.graph.follow(event.from, event.to);
        batch.changeEdge(event.from, event.to, true);
        if (this.presence.isOnline(event.to)) batch.deliver(event.to, event.payload);
        return;
      case 'U':
        this.graph.unfollow(event.from, event.to);
        batch.changeEdge(event.from, event.to, false);
        return;
      case 'B':
        for (const userId of this.presence.onlineUsers()) batch.deliver(userId, event.payload);
        return;
      case 'P':
        if (this.presence.isOnline(event.to)) batch.deliver(event.to, event.payload);
        return;
      case 'S':
        for (const follower of this.graph.onlineFollowersOf(event.from) ?? []) batch.deliver(follower, event.payload);
        return;
    }
  }

  join(gatewayId: string, userId: number): void {
    if (this.presence.join(gatewayId, userId)) this.graph.userCameOnline(userId);
  }

  leave(gatewayId: string, userId: number): void {
    if (this.presence.leave(gatewayId, userId)) this.graph.userWentOffline(userId);
  }

  dropGateway(gatewayId: string): void {
    for (const userId of this.presence.dropGateway(gatewayId)) this.graph.userWentOffline(userId);
  }
}
