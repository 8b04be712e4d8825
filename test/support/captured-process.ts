import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One of our TypeScript entry points run as a process, everything it writes (stdout and stderr) kept. */
export class CapturedProcess {
  private text = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess, readonly name: string) {
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => (this.text += chunk.toString('utf8')));
    this.exited = once(child, 'exit').then(([code]) => code as number | null);
  }

  /** `script`: a path from the repository's root, e.g. `tools/ops/src/main.ts`. */
  static start(script: string, args: readonly string[], env: NodeJS.ProcessEnv): CapturedProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', `${REPO_ROOT}${script}`, ...args], {
      cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new CapturedProcess(child, `${script} ${args.join(' ')}`.trim());
  }

  get output(): string {
    return this.text;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Runs it to its end; rejects, with what it wrote, if it takes longer than `timeoutMs`. */
  static async run(script: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
    const started = CapturedProcess.start(script, args, env);
    const timer = setTimeout(() => started.child.kill('SIGKILL'), timeoutMs);
    const code = await started.exited;
    clearTimeout(timer);
    if (code === null) throw new Error(`${started.name} did not end within ${timeoutMs} ms; it wrote:\n${started.output}`);
    return { code, output: started.output };
  }

  /** SIGTERM (or the given signal), then waits for it to end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }
}
