import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';

/** Days the test certificates are valid: they live as long as one test. */
const CERTIFICATE_DAYS = '1';
const READY_TIMEOUT_MS = 10_000;

export interface TlsRedisOptions {
  /** Where the certificates are made; a temporary directory of the test's. */
  readonly dir: string;
  readonly port: number;
  /** Lines of Redis's configuration that define its ACL users, e.g. `user fm on >secret ~fm:* +@all`. */
  readonly aclUsers: readonly string[];
}

/**
 * A redis-server that speaks TLS only, with a certificate signed by a test authority made
 * here with openssl, and the ACL users it is given (the default user is switched off).
 * `caFile` is what REDIS_TLS_CA_FILE names for the services.
 */
export class TlsRedis {
  private constructor(private readonly child: ChildProcess, readonly caFile: string) {}

  static async start(options: TlsRedisOptions): Promise<TlsRedis> {
    const { dir, port, aclUsers } = options;
    const file = (name: string) => join(dir, name);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', CERTIFICATE_DAYS,
      '-subj', '/CN=follower-maze test authority', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    openssl('req', ...ecKey, '-keyout', file('redis.key'), '-out', file('redis.csr'), '-subj', '/CN=127.0.0.1');
    writeFileSync(file('redis.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', file('redis.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file('redis.crt'), '-days', CERTIFICATE_DAYS, '-extfile', file('redis.ext'));
    const child = spawn('redis-server', [
      '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1',
      '--tls-cert-file', file('redis.crt'), '--tls-key-file', file('redis.key'), '--tls-ca-cert-file', file('ca.crt'),
      // The clients prove who they are by their ACL user and password, not by a certificate.
      '--tls-auth-clients', 'no',
      '--save', '', '--appendonly', 'no', '--loglevel', 'warning', '-',
    ], { stdio: ['pipe', 'ignore', 'inherit'] });
    // The users (and their passwords) on the standard input, not the command line.
    child.stdin!.end(['user default off', ...aclUsers].join('\n') + '\n');
    const redis = new TlsRedis(child, file('ca.crt'));
    await redis.waitForHandshake(port);
    return redis;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }

  /** Until a TLS handshake with the port succeeds, trusting the test authority. */
  private async waitForHandshake(port: number): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const ca = readFileSync(this.caFile);
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port, ca }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (ok) return;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`redis-server with TLS on port ${port} did not start`);
      await delay(50);
    }
  }
}
