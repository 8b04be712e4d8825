import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { RestartBackoff, type Logger } from '@follower-maze/shared';
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
  private readonly backoff = new RestartBackoff();
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
    // An IPC channel, so that the child stops by itself if this process dies without stopping it.
    const stdio = typeof this.spec.stdio === 'string' ? [this.spec.stdio, this.spec.stdio, this.spec.stdio] : [...this.spec.stdio];
    const child = spawn(this.spec.command, this.spec.args, { env: this.spec.env, stdio: [...stdio.slice(0, 3), 'ipc'] });
    this.child = child;
    this.logger.info({ child: this.spec.name, pid: child.pid }, 'started');
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping || !this.spec.restart) return;
      const restartInMs = this.backoff.next(Date.now() - startedAt);
      this.logger.warn({ child: this.spec.name, code, signal, restartInMs }, 'died; restarting');
      this.restartTimer = setTimeout(() => {
        this.restarts++;
        this.start();
      }, restartInMs);
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
