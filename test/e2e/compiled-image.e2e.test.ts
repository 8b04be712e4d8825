import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runVerification } from '../../tools/verify/src/index.ts';
import { waitUntilReady } from '../../tools/stack/src/readiness.ts';
import { freePorts } from '../../tools/stack/src/free-ports.ts';
import { layOutStage, type StageRuntime } from '../support/dockerfile-stage.ts';
import { deletePrefix, TEST_REDIS_URL, testRedis, uniquePrefix } from '../support/redis-fixture.ts';

/**
 * The image without Docker: `npm run build` in the repository (the build stage), then
 * the runtime stage laid out in a temporary directory as the Dockerfile says (its COPY
 * lines, its `npm ci --omit=dev`), and the services started there as docker-compose.yml
 * says, with plain node, as an unprivileged user when the test runs as root, through a
 * short verification run against the machine's Redis.
 */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVICES = ['ingest', 'sequencer', 'gateway'] as const;
const RUNTIME_INSTALL = 'npm ci --omit=dev --no-audit --no-fund && npm cache clean --force';
/** Debian's `nobody`, standing in for the image's `node` user. */
const UNPRIVILEGED_ID = 65534;
const STOP_TIMEOUT_MS = 8000;
const TOTAL_EVENTS = 20_000;

const exec = promisify(execFile);
const redis = testRedis();
const imageDir = mkdtempSync(join(tmpdir(), 'fm-image-'));
chmodSync(imageDir, 0o755);
let runtime: StageRuntime;

before(async () => {
  await exec('npm', ['run', 'build'], { cwd: REPO_ROOT });
  runtime = await layOutStage({
    dockerfile: readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'),
    stage: 'runtime',
    context: REPO_ROOT,
    target: imageDir,
    run: async (command) => {
      // The cache clean only keeps the image small; here it would empty this machine's npm cache.
      assert.equal(command, RUNTIME_INSTALL, 'the runtime stage installs production dependencies only');
      await exec('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: imageDir });
    },
  });
});

after(async () => {
  rmSync(imageDir, { recursive: true, force: true });
  redis.disconnect();
});

test('the runtime stage holds compiled JavaScript and production dependencies, no TypeScript tooling', () => {
  for (const tool of ['tsx', 'typescript']) {
    const resolved = spawnSync(process.execPath, ['--input-type=module', '-e', `await import('${tool}')`], { cwd: imageDir, env: {}, encoding: 'utf8' });
    assert.notEqual(resolved.status, 0, `${tool} is importable in the image`);
    assert.match(resolved.stderr, /ERR_MODULE_NOT_FOUND/, `${tool}: ${resolved.stderr}`);
  }
  const typeScriptSources = filesOutsideDependencies(imageDir).filter((file) => /(?<!\.d)\.ts$/.test(file));
  assert.deepEqual(typeScriptSources, []);
  assert.ok(existsSync(join(imageDir, 'services/sequencer/dist/lua/commit.lua')), 'the sequencer reads its Lua scripts at run time');
  const workspaces = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  const missing = workspaces.filter((workspace) => !existsSync(join(imageDir, workspace, 'package.json')));
  assert.deepEqual(missing, [], 'npm ci needs the package.json of every workspace');
  assert.equal(runtime.user, 'node');
  assert.equal(runtime.env['NODE_ENV'], 'production');
});

test('the image and compose run node on the compiled entry points', () => {
  const commands = [runtime.cmd, ...SERVICES.map(composeCommand)];
  for (const [command, ...args] of commands) {
    assert.equal(command, 'node', `${[command, ...args].join(' ')} runs plain node`);
    const script = args.find((arg) => !arg.startsWith('-'));
    assert.ok(script && /\/dist\/main\.js$/.test(script) && existsSync(join(imageDir, script)), `${script} is in the image`);
  }
});

test(`the services run from the runtime stage: ${TOTAL_EVENTS} events to 100 clients over 2 gateway workers`, async () => {
  const prefix = uniquePrefix('image');
  const [eventPort, clientPort] = await freePorts(2);
  const env = {
    PATH: process.env['PATH'], ...runtime.env,
    REDIS_URL: TEST_REDIS_URL, KEY_PREFIX: prefix, LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    EVENT_PORT: String(eventPort), CLIENT_PORT: String(clientPort), GATEWAYS: '2', METRICS_PORT: '0',
  };
  const children = SERVICES.map((service) => startService(composeCommand(service), env));
  let stopping = false;
  // A service that cannot start (a module it does not find, a file it may not read) fails the test at once.
  const died = new Promise<never>((_, reject) => children.forEach((child, index) => child.once('exit', (code, signal) => {
    if (!stopping) reject(new Error(`${SERVICES[index]} exited (${code ?? signal}) before the run was over`));
  })));
  try {
    const report = await Promise.race([died, (async () => {
      await waitUntilReady({ redisUrl: TEST_REDIS_URL, keyPrefix: prefix, eventPort: eventPort!, gateways: 2 });
      return runVerification({
        eventHost: '127.0.0.1', eventPort: eventPort!, clientHost: '127.0.0.1', clientPorts: [clientPort!],
        totalEvents: TOTAL_EVENTS, concurrencyLevel: 100, numberOfUsers: 1000, randomSeed: 666,
        timeoutMs: 20_000, maxEventSourceBatchSize: 100, lineEnding: '\r\n',
      });
    })()]);
    assert.deepEqual(report.failures, []);
    assert.equal(report.ok, true);
    assert.ok(report.notificationsExpected > 1000, `only ${report.notificationsExpected} notifications expected`);
    if (process.getuid?.() === 0) {
      for (const child of children) assert.equal(processUid(child.pid!), UNPRIVILEGED_ID, 'the service runs unprivileged');
    }
  } finally {
    stopping = true;
    await Promise.all(children.map(stop));
    await deletePrefix(redis, prefix);
  }
});

/** The service's `command` in docker-compose.yml (a one-line JSON array under the service). */
function composeCommand(service: (typeof SERVICES)[number]): string[] {
  const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
  const block = new RegExp(`^  ${service}:\\n((?:    .*\\n|\\n)*)`, 'm').exec(compose)?.[1] ?? '';
  const command = /^    command: (\[.*\])$/m.exec(block)?.[1];
  assert.ok(command, `docker-compose.yml: no command for ${service}`);
  return JSON.parse(command) as string[];
}

function startService([, ...args]: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // As root, run as nobody: the image's files must be readable by a user that owns none of them.
  const user = process.getuid?.() === 0 ? { uid: UNPRIVILEGED_ID, gid: UNPRIVILEGED_ID } : {};
  // The IPC channel stops the service if this test dies without stopping it.
  return spawn(process.execPath, args, { cwd: imageDir, env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], ...user });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function processUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('Uid:'));
  return Number(line?.split(/\s+/)[1]);
}

/** Every file below the directory, outside node_modules. */
function filesOutsideDependencies(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesOutsideDependencies(path);
    return [path];
  });
}
