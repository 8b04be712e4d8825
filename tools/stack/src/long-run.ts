import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the long runs that start stacks of their own (bench, scale bench, soak) share:
 * where their logs go, and how Ctrl-C ends them.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** What Ctrl-C (or SIGTERM) exits with, as a shell reports a SIGINT. */
const INTERRUPTED_EXIT_CODE = 130;

/** `<repository>/<folder>/<prefix><UTC time>`: a run's log directory, names sorting by time. */
export function runLogDir(folder: string, prefix = ''): string {
  return join(REPO_ROOT, folder, `${prefix}${new Date().toISOString().replace(/:/g, '-').replace(/\..*/, '')}`);
}

/** On SIGINT or SIGTERM: says what it stops, waits for `stop`, and exits as a shell reports an interrupt. */
export function stopOnInterrupt(what: string, stop: () => Promise<void>): void {
  const interrupt = async (): Promise<void> => {
    console.error(`interrupted: ${what}`);
    await stop();
    process.exit(INTERRUPTED_EXIT_CODE);
  };
  process.once('SIGINT', () => void interrupt());
  process.once('SIGTERM', () => void interrupt());
}
