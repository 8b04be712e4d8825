import { execFileSync } from 'node:child_process';

/** Descriptors a process started from here may hold (`ulimit -n`); Infinity when unlimited. */
export function descriptorLimit(): number {
  const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  return Number.isFinite(limit) ? limit : Infinity;
}
