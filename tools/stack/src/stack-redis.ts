import envVar from 'env-var';

/**
 * Where `npm start` finds Redis: REDIS_URL when set, otherwise the private
 * redis-server it starts on STACK_REDIS_PORT (default 6390). The operator commands use
 * the same rule, so that `npm run ops` talks to the stack that `npm start` runs.
 */
export function stackRedisPort(env: NodeJS.ProcessEnv = process.env): number {
  return envVar.from(env).get('STACK_REDIS_PORT').default('6390').example('6390').asPortNumber();
}

export function stackRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env['REDIS_URL'] ?? `redis://127.0.0.1:${stackRedisPort(env)}`;
}
