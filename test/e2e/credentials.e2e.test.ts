import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange, freePorts } from '../../tools/stack/src/free-ports.ts';
import { waitUntilReady } from '../../tools/stack/src/readiness.ts';
import { stackRedisUrl } from '../../tools/stack/src/stack-redis.ts';
import { CapturedProcess } from '../support/captured-process.ts';
import { eventually } from '../support/redis-fixture.ts';
import { TcpPeer } from '../support/tcp-peer.ts';

const KEY_PREFIX = 'fm-credentials';
const REFUSED = 'Redis refused the credentials in REDIS_URL';

/** Every directory under `dir` (itself included) with its mode, and every file with its. */
function modes(dir: string): [path: string, mode: number][] {
  return [[dir, statSync(dir).mode & 0o777], ...readdirSync(dir, { withFileTypes: true }).flatMap((entry): [string, number][] => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? modes(path) : [[path, statSync(path).mode & 0o777]];
  })];
}

test('npm start: its private Redis gets a generated password, that no log line or command output shows, and files only their owner reads; a wrong password is one clear error without it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-credentials-'));
  const dataDir = join(dir, 'data');
  const [redisPort, eventPort, clientPort] = (await freePorts(3)) as [number, number, number];
  // ingest, the sequencer and the gateway: npm start numbers their metrics ports from this one.
  const metricsPort = await freePortRange(3);
  const { REDIS_URL: _ignored, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited, STACK_DATA_DIR: dataDir, STACK_REDIS_PORT: String(redisPort), EVENT_PORT: String(eventPort),
    CLIENT_PORT: String(clientPort), METRICS_PORT: String(metricsPort), KEY_PREFIX, SEQUENCERS: '1', LOG_LEVEL: 'info',
  };
  // As an earlier version (or a umask of 022) left it: readable by everyone.
  mkdirSync(join(dataDir, 'appendonlydir'), { recursive: true, mode: 0o755 });
  const stack = CapturedProcess.start('tools/stack/src/main.ts', [], env);
  const outputs: { name: string; output: string }[] = [];
  try {
    const redisUrl = await eventually(() => stackRedisUrl(env), 20_000, 100);
    await waitUntilReady({ redisUrl, keyPrefix: KEY_PREFIX, eventPort, gateways: 1 });
    const password = readFileSync(join(dataDir, 'redis-password'), 'utf8');
    assert.ok(password.length >= 32, 'a long random password');
    const anonymous = await TcpPeer.open(redisPort);
    await anonymous.write('PING\r\n');
    await eventually(() => assert.match(anonymous.received, /^-NOAUTH /, 'Redis wants the password'));
    anonymous.destroy();

    // A run of the checker through the stack, then the operators' view of it, found by `ops` through the password file.
    const verify = await CapturedProcess.run('tools/verify/src/main.ts', [], {
      ...env, eventListenerPort: String(eventPort), clientListenerPort: String(clientPort), totalEvents: '2000', concurrencyLevel: '10', numberOfUsers: '100',
    }, 60_000);
    assert.equal(verify.code, 0, verify.output);
    const status = await CapturedProcess.run('tools/ops/src/main.ts', ['status'], env);
    assert.equal(status.code, 0, status.output);
    assert.equal((JSON.parse(status.output) as { position: { nextSeq: string } }).position.nextSeq, '2001');
    outputs.push({ name: 'verify', ...verify }, { name: 'ops status', ...status });

    const files = modes(dataDir);
    assert.ok(files.some(([path]) => /appendonlydir.+\.aof$/.test(path)), 'the append-only files are there');
    for (const [path, mode] of files) {
      const expected = statSync(path).isDirectory() ? 0o700 : 0o600;
      assert.equal(mode.toString(8), expected.toString(8), `${path} is its owner's only`);
    }

    const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
    const wrongEnv = { ...env, REDIS_URL: `redis://:${wrongPassword}@127.0.0.1:${redisPort}`, EVENT_PORT: '0', CLIENT_PORT: '0', METRICS_PORT: '0' };
    const refused = ['ingest', 'sequencer', 'gateway'].map((service) => CapturedProcess.start(`services/${service}/src/main.ts`, [], wrongEnv));
    const [opsStatus, opsReplay] = await Promise.all([
      CapturedProcess.run('tools/ops/src/main.ts', ['status'], wrongEnv),
      // Its own limit is 30 s (waiting for a sequencer): refused credentials must end it long before.
      CapturedProcess.run('tools/ops/src/main.ts', ['replay'], wrongEnv, 25_000),
    ]);
    for (const ops of [opsStatus, opsReplay]) {
      assert.equal(ops.code, 1, ops.output);
      assert.match(ops.output, new RegExp(`Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redisPort} refused the credentials`));
    }
    await eventually(() => {
      for (const service of refused) assert.ok(service.output.includes(REFUSED), `${service.name} says the credentials were refused`);
    }, 30_000, 100);
    await Promise.all(refused.map((service) => service.stop()));
    for (const service of refused) {
      const lines = service.output.split('\n').filter((line) => line.includes(REFUSED));
      // One line per 5 s (ThrottledWarning), however many connections were refused: each later one counts the repeats.
      assert.ok(lines.length >= 1 && lines.slice(1).every((line) => line.includes('"repeatedSinceLastLine"')),
        `${service.name}: one line, then one per interval with the count of repeats:\n${service.output}`);
      assert.ok(lines[0]!.includes(`"redis":"redis://:***@127.0.0.1:${redisPort}"`), lines[0]);
    }
    outputs.push({ name: 'ops status, wrong password', ...opsStatus }, { name: 'ops replay, wrong password', ...opsReplay });
    outputs.push(...refused.map((service) => ({ name: `${service.name}, wrong password`, output: service.output })));

    await stack.stop('SIGINT');
    outputs.push({ name: 'npm start', output: stack.output });
    assert.ok(stack.output.includes(`"url":"redis://:***@127.0.0.1:${redisPort}"`), 'the stack names its Redis without the password');
    for (const { name, output } of outputs) {
      for (const secret of [password, wrongPassword]) assert.ok(!output.includes(secret), `${name} shows a password:\n${output}`);
    }
  } finally {
    await stack.stop('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
});
