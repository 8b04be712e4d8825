import { execFileSync } from 'node:child_process';

/**
 * Several "hosts" on one machine: a Linux network namespace per host, each with its
 * own loopback and one interface (`eth0`, a veth pair) plugged into a bridge that lives
 * in a "switch" namespace of its own, addresses in a private /24. The process that
 * builds it (the test) is plugged into the same bridge through one more veth pair, as
 * an operator's host would be, so that it can reach Redis and the services' ports.
 * Needs root and iproute2 (`ip`).
 *
 * Names carry the builder's pid: namespaces `fm-<pid>-<host>` and `fm-<pid>-switch`,
 * the builder's side of its veth `fmc<pid>`. `removeStale` deletes whatever a builder
 * that is no longer running left behind (a crashed or killed test run).
 */
export class HostNetwork {
  /** `fm-<pid>-` */
  private readonly namePrefix: string;
  private removed = false;

  private constructor(
    readonly hosts: readonly string[],
    /** The third octet of 10.213.<subnet>.0/24. */
    readonly subnet: number,
    private readonly pid: number,
  ) {
    this.namePrefix = `${NAME_PREFIX}${pid}-`;
  }

  /**
   * Why several hosts cannot be made here (not root, no `ip`, namespaces refused), found
   * by trying; undefined when they can.
   */
  static unavailableReason(): string | undefined {
    if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
    const probe = `${NAME_PREFIX}${process.pid}-probe`;
    try {
      ip('netns', 'add', probe);
      ip('-n', probe, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
      return undefined;
    } catch (error) {
      return `cannot create network namespaces and veth pairs with ip: ${(error as Error).message.split('\n')[0]}`;
    } finally {
      try {
        ip('netns', 'del', probe);
      } catch {
        // never created
      }
    }
  }

  /** Builds the namespaces, the bridge and the links; everything is removed again if a step fails. */
  static create(hosts: readonly string[]): HostNetwork {
    if (hosts.length > 250) throw new Error('at most 250 hosts');
    HostNetwork.removeStale();
    const network = new HostNetwork(hosts, freeSubnet(process.pid), process.pid);
    try {
      network.build();
    } catch (error) {
      network.remove();
      throw error;
    }
    return network;
  }

  /**
   * Removes the namespaces (first ending what still runs in them) and links of builders
   * that are no longer running. Builders that still run are left alone.
   */
  static removeStale(): void {
    const stalePids = new Set<number>();
    for (const namespace of namespaceNames()) {
      const pid = pidOf(namespace);
      if (pid !== undefined && pid !== process.pid && !isRunning(pid)) {
        stalePids.add(pid);
        removeNamespace(namespace);
      }
    }
    for (const link of rootLinkNames()) {
      const pid = Number(link.slice(CONTROL_LINK_PREFIX.length));
      if (Number.isInteger(pid) && pid > 0 && !isRunning(pid)) stalePids.add(pid);
    }
    for (const pid of stalePids) removeLink(`${CONTROL_LINK_PREFIX}${pid}`);
  }

  /** The network namespace of a host. */
  namespace(host: string): string {
    this.check(host);
    return `${this.namePrefix}${host}`;
  }

  /** The address of a host. */
  address(host: string): string {
    this.check(host);
    return `10.213.${this.subnet}.${2 + this.hosts.indexOf(host)}`;
  }

  /** The address of the builder itself (the test's process), on the same /24. */
  get controlAddress(): string {
    return `10.213.${this.subnet}.254`;
  }

  /** Put before a command to run it on that host: `ip netns exec <namespace>`. */
  commandPrefix(host: string): string[] {
    return ['ip', 'netns', 'exec', this.namespace(host)];
  }

  /**
   * Ends every process still running on the hosts (SIGKILL, by the pids the kernel lists
   * for each namespace), then deletes the namespaces and links. Safe to call twice.
   */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    for (const host of this.hosts) removeNamespace(this.namespace(host));
    removeNamespace(this.switchNamespace);
    removeLink(this.controlLink);
  }

  private get switchNamespace(): string {
    return `${this.namePrefix}switch`;
  }

  private get controlLink(): string {
    return `${CONTROL_LINK_PREFIX}${this.pid}`;
  }

  private build(): void {
    const sw = this.switchNamespace;
    ip('netns', 'add', sw);
    ip('-n', sw, 'link', 'set', 'lo', 'up');
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'br0', 'up');
    this.hosts.forEach((host, index) => {
      const namespace = this.namespace(host);
      const port = `p${index}`;
      ip('netns', 'add', namespace);
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      ip('-n', namespace, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', sw);
      ip('-n', namespace, 'addr', 'add', `${this.address(host)}/24`, 'dev', 'eth0');
      ip('-n', namespace, 'link', 'set', 'eth0', 'up');
      this.plug(port);
    });
    ip('link', 'add', this.controlLink, 'type', 'veth', 'peer', 'name', 'control', 'netns', sw);
    ip('addr', 'add', `${this.controlAddress}/24`, 'dev', this.controlLink);
    ip('link', 'set', this.controlLink, 'up');
    this.plug('control');
  }

  private plug(port: string): void {
    ip('-n', this.switchNamespace, 'link', 'set', port, 'master', 'br0');
    ip('-n', this.switchNamespace, 'link', 'set', port, 'up');
  }

  private check(host: string): void {
    if (!this.hosts.includes(host)) throw new Error(`no host ${host}; have ${this.hosts.join(', ')}`);
  }
}

const NAME_PREFIX = 'fm-';
const CONTROL_LINK_PREFIX = 'fmc';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function namespaceNames(): string[] {
  let listing: string;
  try {
    listing = ip('netns', 'list');
  } catch {
    return [];
  }
  return listing.split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name.startsWith(NAME_PREFIX));
}

function rootLinkNames(): string[] {
  let listing: string;
  try {
    listing = ip('-o', 'link', 'show');
  } catch {
    return [];
  }
  return listing
    .split('\n')
    .map((line) => /^\d+: ([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(CONTROL_LINK_PREFIX));
}

/** The builder's pid in `fm-<pid>-<host>`, or undefined for a name of another scheme. */
function pidOf(namespace: string): number | undefined {
  const match = /^fm-(\d+)-[a-z0-9]+$/.exec(namespace);
  return match ? Number(match[1]) : undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeNamespace(namespace: string): void {
  try {
    for (const pid of ip('netns', 'pids', namespace).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // no such namespace
  }
  try {
    ip('netns', 'del', namespace);
  } catch {
    // no such namespace
  }
}

function removeLink(link: string): void {
  try {
    ip('link', 'del', link);
  } catch {
    // gone with its peer's namespace, or never made
  }
}

/**
 * A /24 of 10.213.0.0/16 that no route of this host covers (other than the default route),
 * starting from one derived from the pid so that concurrent runs tend to differ.
 */
function freeSubnet(pid: number): number {
  for (let step = 0; step < 250; step++) {
    const subnet = 1 + ((pid + step) % 250);
    const routes = ip('-4', 'route', 'show', 'to', 'match', `10.213.${subnet}.0/24`)
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('default'));
    if (routes.length === 0) return subnet;
  }
  throw new Error('no free /24 in 10.213.0.0/16');
}
