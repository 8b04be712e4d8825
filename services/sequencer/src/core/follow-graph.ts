/**
 * The follow graph as the sequencer sees it at its current sequence position, with an
 * index of the *online* followers of each user: a status update then costs one step per
 * connected follower, not one per follower.
 */
export class FollowGraph {
  private readonly followers = new Map<number, Set<number>>();
  private readonly following = new Map<number, Set<number>>();
  private readonly onlineFollowers = new Map<number, Set<number>>();

  constructor(private readonly isOnline: (userId: number) => boolean) {}

  follow(from: number, to: number): void {
    addTo(this.followers, to, from);
    addTo(this.following, from, to);
    if (this.isOnline(from)) addTo(this.onlineFollowers, to, from);
  }

  unfollow(from: number, to: number): void {
    removeFrom(this.followers, to, from);
    removeFrom(this.following, from, to);
    removeFrom(this.onlineFollowers, to, from);
  }

  /** Call after the user came online. */
  userCameOnline(userId: number): void {
    for (const followed of this.following.get(userId) ?? []) addTo(this.onlineFollowers, followed, userId);
  }

  /** Call after the user went offline. */
  userWentOffline(userId: number): void {
    for (const followed of this.following.get(userId) ?? []) removeFrom(this.onlineFollowers, followed, userId);
  }

  onlineFollowersOf(userId: number): ReadonlySet<number> | undefined {
    return this.onlineFollowers.get(userId);
  }

  followersOf(userId: number): ReadonlySet<number> | undefined {
    return this.followers.get(userId);
  }
}

function addTo(index: Map<number, Set<number>>, key: number, member: number): void {
  let members = index.get(key);
  if (!members) index.set(key, (members = new Set()));
  members.add(member);
}

function removeFrom(index: Map<number, Set<number>>, key: number, member: number): void {
  const members = index.get(key);
  if (!members?.delete(member)) return;
  if (members.size === 0) index.delete(key);
}
