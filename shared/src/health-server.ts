import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ServiceMetrics } from './metrics.ts';
import { formatReadiness, type CheckResult } from './readiness-report.ts';
import { listenOn } from './tcp-listen.ts';

/** A check that takes longer counts as failed: the probe asking has a timeout of its own (compose: 3 s). */
const CHECK_TIMEOUT_MS = 1000;

/** One condition of a process's readiness, with a word on its state for the person reading /readyz. */
export interface HealthCheck {
  readonly name: string;
  check(): CheckResult | Promise<CheckResult>;
}

/**
 * A process's metrics and health endpoints, on a port of its own:
 * `/metrics` (Prometheus text), `/livez` (the process answers: 200), and `/readyz`
 * (200 when every check passes, 503 otherwise; the body says each check's state).
 */
export class HealthServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(host: string, port: number, metrics: ServiceMetrics, checks: readonly HealthCheck[]): Promise<HealthServer> {
    const server = createServer((request, response) => void answer(request, response, metrics, checks));
    const bound = await listenOn(server, host, port);
    // An accept that fails (EMFILE near the descriptor limit) costs one scrape, which is tried again: never the service.
    server.on('error', () => undefined);
    return new HealthServer(server, bound);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // A scraper's kept-alive connection would otherwise hold the close.
    this.server.closeAllConnections();
    await closed;
  }
}

async function answer(request: IncomingMessage, response: ServerResponse, metrics: ServiceMetrics, checks: readonly HealthCheck[]): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return reply(response, 405, 'GET only\n');
  const path = (request.url ?? '/').split('?')[0];
  try {
    if (path === '/metrics') return reply(response, 200, await metrics.exposition(), metrics.contentType);
    if (path === '/livez') return reply(response, 200, 'alive\n');
    if (path === '/readyz') {
      const results = await Promise.all(checks.map(runCheck));
      return reply(response, results.every(({ ok }) => ok) ? 200 : 503, formatReadiness(results));
    }
    return reply(response, 404, 'not found: try /metrics, /livez or /readyz\n');
  } catch (error) {
    return reply(response, 500, `${(error as Error).message}\n`);
  }
}

async function runCheck(check: HealthCheck): Promise<CheckResult & { readonly name: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(() => check.check()), timedOut]);
    return { name: check.name, ...result };
  } catch (error) {
    return { name: check.name, ok: false, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

function reply(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  response.end(body);
}
