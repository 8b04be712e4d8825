import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@follower-maze/shared';
import { scaleOptionsFromEnv } from '../src/scale-options.ts';
import { connectRates, formatScaleRun, formatScaleTable, perConnection } from '../src/scale-report.ts';
import { ScaleRun } from '../src/scale-run.ts';

const CLIENTS = 2000;
const GATEWAYS = 2;
const BROADCASTS = 2;

/**
 * `npm run bench:scale` in small: the same code path as the 100,000-client run (fresh
 * stack, memory probe, crowd over several processes and loopback addresses, broadcasts
 * through the event port), with 2,000 clients over 2 gateways.
 */
test(`the scale scenario in small: ${CLIENTS} clients over ${GATEWAYS} gateways, ${BROADCASTS} broadcasts reach everyone`, async () => {
  const options = scaleOptionsFromEnv({
    BENCH_SCALE_CLIENTS: String(CLIENTS), BENCH_SCALE_GATEWAYS: String(GATEWAYS), BENCH_SCALE_BROADCASTS: String(BROADCASTS),
    BENCH_SCALE_SETTLE_MS: '300', BENCH_SCALE_CLIENTS_PER_WORKER: '1000', BENCH_SCALE_TIMEOUT_MS: '20000',
  });
  const runDir = mkdtempSync(join(tmpdir(), 'fm-scale-test-'));
  try {
    const lines: string[] = [];
    const result = await new ScaleRun(options, 15_000, runDir, createLogger('bench-scale-test', 'silent'), (line) => lines.push(line)).run();
    assert.deepEqual(result.failures, []);
    assert.equal(result.connect?.connected, CLIENTS);
    assert.deepEqual(result.connect?.perGateway, [CLIENTS / GATEWAYS, CLIENTS / GATEWAYS]);
    assert.ok(result.connect?.routableAtMs !== undefined);
    assert.ok(connectRates(result).routablePerSecond! > 0);
    assert.equal(result.gateways.length, GATEWAYS);
    for (const gateway of result.gateways) {
      assert.equal(gateway.presence, CLIENTS / GATEWAYS);
      assert.ok(gateway.idle.heapUsedBytes !== undefined && gateway.loaded?.heapUsedBytes !== undefined, 'the memory probe answered');
      assert.ok(perConnection(gateway).rssBytes !== undefined);
    }
    assert.deepEqual(result.broadcasts.map(({ seq, complete, missing, all }) => ({ seq, complete, missing, count: all?.count })), [
      { seq: 1, complete: true, missing: 0, count: CLIENTS },
      { seq: 2, complete: true, missing: 0, count: CLIENTS },
    ]);
    assert.equal(result.crowd?.bytesReceived, CLIENTS * BROADCASTS * '1|B\r\n'.length);
    assert.ok(lines.some((line) => line.includes('id lines sent') || line.includes('all 2,000 id lines written')), 'progress lines');
    assert.match(formatScaleRun(result, runDir), /2,000 clients over 2 gateways: ok/);
    assert.match(formatScaleTable([result]), /\| 2 \| 2,000 \| ok \|/);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
});
