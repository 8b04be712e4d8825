import { readFile } from 'node:fs/promises';

/** Linux's USER_HZ: /proc counts CPU time in these ticks on every architecture Node runs on. */
const TICKS_PER_S = 100;

/** CPU seconds (user and system) a process has used so far, from /proc; 0 once it has exited. */
export async function cpuSeconds(pid: number): Promise<number> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** CPU seconds used by groups of processes (e.g. "gateways", "crowd") between two moments. */
export class CpuMeter {
  private start = new Map<string, number>();

  constructor(private readonly groups: () => ReadonlyMap<string, readonly number[]>) {}

  async begin(): Promise<void> {
    this.start = await this.read();
  }

  /** CPU seconds of each group since `begin`, in the groups' order. */
  async end(): Promise<{ readonly group: string; readonly seconds: number }[]> {
    const now = await this.read();
    return [...now].map(([group, seconds]) => ({ group, seconds: seconds - (this.start.get(group) ?? 0) }));
  }

  private async read(): Promise<Map<string, number>> {
    const totals = new Map<string, number>();
    for (const [group, pids] of this.groups()) {
      totals.set(group, (await Promise.all(pids.map(cpuSeconds))).reduce((sum, seconds) => sum + seconds, 0));
    }
    return totals;
  }
}
