import type { Server } from 'node:net';

/**
 * Connections the kernel may hold completed but not yet accepted. Node's default of 511
 * overflows when thousands of clients connect in the same instant (a gateway killed under
 * 5,000 clients, all reconnecting); the kernel caps it at net.core.somaxconn (4,096 here).
 */
const LISTEN_BACKLOG = 4096;

/** Starts listening and resolves with the port actually bound (port 0 picks a free one, as tests do). */
export async function listenOn(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      // Later errors are accept errors, for the caller's own listener: one left here would swallow the first.
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}
