import { connect, type Socket } from 'node:net';

/**
 * A connect storm, as a process of its own: opens every client at once, each writing
 * its id line as soon as it is connected, and holds them open until told to stop.
 *
 * argv: first user id, count, client ports (comma list; user n connects to ports[n % ports.length]).
 * Sends { kind: 'sent', sentAtMs } once every id line is written, sentAtMs holding when
 * each user's was (ms, `performance.timeOrigin + performance.now()`); exits on 'stop'.
 */
const [firstUser, count, portList] = process.argv.slice(2) as [string, string, string];
const ports = portList.split(',').map(Number);
const sentAtMs = new Map<number, number>();

function open(userId: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(ports[userId % ports.length]!, '127.0.0.1', () => {
      sentAtMs.set(userId, performance.timeOrigin + performance.now());
      socket.write(`${userId}\r\n`);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

const users = Array.from({ length: Number(count) }, (_, i) => Number(firstUser) + i);
const sockets = await Promise.all(users.map(open));
process.send!({ kind: 'sent', sentAtMs });
process.on('message', (message: { kind: string }) => {
  if (message.kind !== 'stop') return;
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});
// The test that started this process is gone: so are its clients.
process.on('disconnect', () => process.exit(0));
