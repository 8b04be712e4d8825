import { get } from 'node:http';
import { parseReadiness, type Readiness } from './readiness-report.ts';

/** The address to probe a process at: one listening on every address answers on loopback. */
export function probeHost(listenHost: string): string {
  return listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost;
}

/** Asks a process's /readyz. A process that does not answer, or not in time, is not ready, and the reason says why. */
export function probeReadiness(host: string, port: number, timeoutMs: number): Promise<Readiness> {
  return new Promise((resolve) => {
    const notReady = (detail: string) => resolve({ ready: false, checks: [{ name: 'answer', ok: false, detail }] });
    const request = get({ host, port, path: '/readyz', timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        const readiness = parseReadiness(body);
        // The status code decides; the body only explains.
        resolve({ ready: response.statusCode === 200 && readiness.ready, checks: readiness.checks });
      });
      response.on('error', (error) => notReady(error.message));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)));
    request.on('error', (error) => notReady(error.message));
  });
}
