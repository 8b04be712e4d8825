import { readFile } from 'node:fs/promises';

/**
 * Counters of this machine's TCP stack that say whether the kernel, not the product,
 * lost packets or connections during a run. Machine-wide: other processes' traffic
 * counts too.
 */
export interface KernelCounters {
  /** Connections dropped because a listener's accept queue was full (TcpExt ListenOverflows). */
  readonly listenOverflows: number;
  /** Connections the kernel gave up on after unanswered retransmissions or keep-alive probes (TcpExt TCPAbortOnTimeout). */
  readonly abortsOnTimeout: number;
  /** Packets dropped because a CPU's input backlog was full (/proc/net/softnet_stat, 2nd column; loopback traffic goes through it). */
  readonly backlogDrops: number;
}

export const KERNEL_COUNTER_NAMES: Readonly<Record<keyof KernelCounters, string>> = {
  listenOverflows: 'accept-queue overflows',
  abortsOnTimeout: 'connections aborted on timeout',
  backlogDrops: 'packets dropped by a full input backlog',
};

/** One field of /proc/net/netstat (or /proc/net/snmp): a header line and a value line per protocol. */
export function netstatField(text: string, protocol: string, field: string): number | undefined {
  const lines = text.split('\n').filter((line) => line.startsWith(`${protocol}:`));
  for (let index = 0; index + 1 < lines.length; index += 2) {
    const names = lines[index]!.split(/\s+/).slice(1);
    const values = lines[index + 1]!.split(/\s+/).slice(1);
    const at = names.indexOf(field);
    if (at >= 0) return Number(values[at]);
  }
  return undefined;
}

/** Packets dropped over every CPU: the second column of /proc/net/softnet_stat, in hex. */
export function softnetDrops(text: string): number {
  return text.split('\n').filter((line) => line.trim() !== '').reduce((sum, line) => sum + parseInt(line.trim().split(/\s+/)[1] ?? '0', 16), 0);
}

/** What grew between two readings. */
export function counterGrowth(before: KernelCounters, after: KernelCounters): KernelCounters {
  return {
    listenOverflows: after.listenOverflows - before.listenOverflows,
    abortsOnTimeout: after.abortsOnTimeout - before.abortsOnTimeout,
    backlogDrops: after.backlogDrops - before.backlogDrops,
  };
}

/** Undefined where /proc does not have them (not Linux). */
export async function readKernelCounters(): Promise<KernelCounters | undefined> {
  try {
    const [netstat, softnet] = await Promise.all([readFile('/proc/net/netstat', 'utf8'), readFile('/proc/net/softnet_stat', 'utf8')]);
    return {
      listenOverflows: netstatField(netstat, 'TcpExt', 'ListenOverflows') ?? 0,
      abortsOnTimeout: netstatField(netstat, 'TcpExt', 'TCPAbortOnTimeout') ?? 0,
      backlogDrops: softnetDrops(softnet),
    };
  } catch {
    return undefined;
  }
}

/** A kernel setting by its sysctl name, e.g. `net.core.netdev_max_backlog`; undefined where unreadable. */
export async function readSysctl(name: string): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}
