import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../tools/stack/src/free-ports.ts';

const SEQUENCER_MAIN = fileURLToPath(new URL('../../services/sequencer/src/main.ts', import.meta.url));

test('a service still starting (its Redis does not answer) stops when its supervisor goes away', async () => {
  const [silentPort] = await freePorts(1);
  const child = spawn(process.execPath, ['--import', 'tsx', SEQUENCER_MAIN], {
    env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${silentPort}`, LOG_LEVEL: 'silent', METRICS_PORT: '0' },
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  try {
    // Long enough to be past loading its code and waiting on Redis.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(child.exitCode, null, 'still starting');
    const exited = once(child, 'exit');
    child.disconnect();
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('still running 5 s after its supervisor went away')), 5000));
    await Promise.race([exited, timeout]);
  } finally {
    child.kill('SIGKILL');
  }
});
