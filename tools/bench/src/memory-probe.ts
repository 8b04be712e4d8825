import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Loaded into a service process by `npm run bench:scale` (`node --expose-gc --import tsx
 * --import memory-probe.ts ...`; nothing in the service knows of it). On SIGUSR2 it runs
 * a full garbage collection, when `--expose-gc` made one available, and writes the
 * process's memory figures as they are then to `<BENCH_MEMORY_PROBE_DIR>/<pid>.json`
 * (a MemoryProbeReading), whole or not at all.
 */
export interface MemoryProbeReading {
  readonly pid: number;
  /** Whether a full collection ran first. */
  readonly collected: boolean;
  /** process.memoryUsage(), bytes. */
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export const MEMORY_PROBE_SIGNAL = 'SIGUSR2';

const directory = process.env['BENCH_MEMORY_PROBE_DIR'];
if (directory) {
  process.on(MEMORY_PROBE_SIGNAL, () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const reading: MemoryProbeReading = { pid: process.pid, collected: gc !== undefined, ...process.memoryUsage() };
    const file = join(directory, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(reading));
    renameSync(`${file}.tmp`, file);
  });
}
