import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { ScratchStack, type ScratchStackOptions } from '../../tools/stack/src/scratch-stack.ts';
import { runVerification, type VerificationOptions, type VerificationReport } from '../../tools/verify/src/index.ts';
import { silentLogger } from './redis-fixture.ts';

export type StackFixtureOptions = Omit<ScratchStackOptions, 'logger'>;

/**
 * The product as processes on a private redis-server (so tests may kill and restart
 * it), with supervised restarts like `npm start`, and the services' logs in one file
 * that tests can read. The stack itself is the soak's too; tests add a quiet logger,
 * a verification run with the checker's defaults, and a place to keep logs.
 */
export class StackFixture extends ScratchStack {
  static override async start(options: StackFixtureOptions = {}): Promise<StackFixture> {
    return new StackFixture(await ScratchStack.launch({ ...options, logger: silentLogger }));
  }

  /** A verification run against this stack, clients spread over its gateways. */
  verify(options: Partial<VerificationOptions> & { totalEvents: number }): Promise<VerificationReport> {
    return runVerification({
      ...this.clientTarget,
      concurrencyLevel: 100, numberOfUsers: 1000, randomSeed: 666, timeoutMs: 20_000, maxEventSourceBatchSize: 100,
      lineEnding: '\r\n', ...options,
    });
  }

  /** STACK_LOGS_DIR keeps the services' logs of each fixture, to look into a failure. */
  override stop(): Promise<void> {
    const keep = process.env['STACK_LOGS_DIR'];
    return super.stop(keep ? join(keep, `services-${Date.now()}.log`) : undefined);
  }
}

export { sleep };
