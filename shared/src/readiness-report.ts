/**
 * The body of /readyz, written by every process and read by `npm start`, a gateway
 * primary and the tests: a first line `ready` or `not ready`, then one line per check,
 *
 *   ok redis: answered PING in 1 ms
 *   failing listening: not listening yet
 *
 * so that a person reading it with curl sees what is missing.
 */

export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

export interface NamedCheckResult extends CheckResult {
  readonly name: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: readonly NamedCheckResult[];
}

const CHECK_LINE = /^(ok|failing) ([^:]+): (.*)$/;

export function formatReadiness(checks: readonly NamedCheckResult[]): string {
  const ready = checks.every(({ ok }) => ok);
  return [ready ? 'ready' : 'not ready', ...checks.map(({ ok, name, detail }) => `${ok ? 'ok' : 'failing'} ${name}: ${detail}`)]
    .join('\n') + '\n';
}

export function parseReadiness(body: string): Readiness {
  const [status, ...lines] = body.trimEnd().split('\n');
  const checks = lines.flatMap((line) => {
    const match = CHECK_LINE.exec(line);
    return match ? [{ ok: match[1] === 'ok', name: match[2]!, detail: match[3]! }] : [];
  });
  return { ready: status === 'ready', checks };
}

/** The detail of the named check, or undefined when the report has no such check. */
export function checkDetail(readiness: Readiness, name: string): string | undefined {
  return readiness.checks.find((check) => check.name === name)?.detail;
}
