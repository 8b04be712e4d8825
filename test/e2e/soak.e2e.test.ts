import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { FAULT_NAMES } from '../../tools/soak/src/faults.ts';
import { formatFailure, formatRunLine } from '../../tools/soak/src/report.ts';
import { runSoak } from '../../tools/soak/src/soak.ts';
import { soakOptionsFromEnv } from '../../tools/soak/src/soak-options.ts';

/**
 * The soak, one run per fault: each on a fresh stack, one fault at a random moment of a
 * verification run, and every run must pass. The seed is new each time and printed, so
 * a failure can be drawn again with `SOAK_SEED=<seed> SOAK_FAULTS=<fault> npm run soak`.
 */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('soak: every fault once, during a verification run, and every run passes', { timeout: 180_000 }, async (t) => {
  const seed = randomInt(0xffff_ffff);
  t.diagnostic(`soak seed ${seed}`);
  const logsDir = join(REPO_ROOT, '.soak', `test-${seed}`);
  // The defaults of `npm run soak`: 300,000 events at 50,000/s, the checker's 100 clients and 1,000 users, 2 gateways.
  const options = soakOptionsFromEnv({ SOAK_RUNS_PER_FAULT: '1', SOAK_SEED: String(seed) });
  const results = await runSoak(options, logsDir, {
    runDone: (result) => t.diagnostic(formatRunLine(result, 1).trim()),
  });
  const failed = results.filter(({ ok }) => !ok);
  assert.equal(results.length, FAULT_NAMES.length);
  assert.ok(
    failed.length === 0,
    `seed ${seed}: ${failed.length} of ${results.length} runs failed\n` +
      failed.map((result) => `${formatRunLine(result, 1)}\n${formatFailure(result, REPO_ROOT)}`).join('\n'),
  );
});
