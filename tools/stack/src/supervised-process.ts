import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Logger } from '@follower-maze/shared';

const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 10_000;
/** A process that lived this long is healthy again: its next restart starts from the first delay. */
const HEALTHY_AFTER_MS = 30_000;
/** How long a process may take to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 8000;

export interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdio: StdioOptions;
  /** Start it again when it dies, as a compose restart policy would. */
  readonly restart: boolean;
}

/** One child process of the stack, restarted with a back-off when it dies unexpectedly. */
export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartDelayMs = FIRST_RESTART_DELAY_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  restarts = 0;

  constructor(
    readonly spec: ProcessSpec,
    private readonly logger: Logger,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const startedAt = Date.now();
    const child = spawn(this.spec.command, this.spec.args, { env: this.spec.env, stdio: this.spec.stdio });
    this.child = child;
    this.logger.info({ child: this.spec.name, pid: child.pid }, 'started');
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping || !this.spec.restart) return;
      const livedMs = Date.now() - startedAt;
      this.restartDelayMs = livedMs > HEALTHY_AFTER_MS ? FIRST_RESTART_DELAY_MS : Math.min(this.restartDelayMs * 2, MAX_RESTART_DELAY_MS);
      this.logger.warn({ child: this.spec.name, code, signal, restartInMs: this.restartDelayMs }, 'died; restarting');
      this.restartTimer = setTimeout(() => {
        this.restarts++;
        this.start();
      }, this.restartDelayMs);
    });
  }

  /** Sends a signal to the running process, e.g. SIGKILL to test a crash. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
