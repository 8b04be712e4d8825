import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import envVar from 'env-var';

/** The private redis-server's password, in its data directory (owner only). */
const PASSWORD_FILE = 'redis-password';
/** Random bytes of a generated password; base64url, so that it needs no escaping in a URL or Redis's configuration. */
const PASSWORD_BYTES = 24;

/**
 * Where `npm start` finds Redis: REDIS_URL when set, otherwise the private
 * redis-server it starts on STACK_REDIS_PORT (default 6390), with its append-only file
 * and password in STACK_DATA_DIR (default ./data). The operator commands use the same
 * rule, so that `npm run ops` talks to the stack that `npm start` runs.
 */
export function stackRedisPort(env: NodeJS.ProcessEnv = process.env): number {
  return envVar.from(env).get('STACK_REDIS_PORT').default('6390').example('6390').asPortNumber();
}

export function stackDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return envVar.from(env).get('STACK_DATA_DIR').default('./data').example('./data').asString();
}

/** Holds the password: show it only through `redactUrl`. */
export function stackRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env['REDIS_URL']) return env['REDIS_URL'];
  const file = join(stackDataDir(env), PASSWORD_FILE);
  let password: string;
  try {
    password = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `the private Redis's password is not readable (${(error as Error).message}): run this where \`npm start\` runs, ` +
        'with its STACK_DATA_DIR, or set REDIS_URL',
    );
  }
  return `redis://:${encodeURIComponent(password)}@127.0.0.1:${stackRedisPort(env)}`;
}

/**
 * The password of the private redis-server whose files are in `dataDir`: generated the
 * first time, kept in a file only its owner can read, and the same at every start, so
 * that tools that read it find the Redis that runs.
 */
export function stackRedisPassword(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, PASSWORD_FILE);
  try {
    writeFileSync(file, randomBytes(PASSWORD_BYTES).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8');
}
