import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { PacedWrites } from '../src/paced-writes.ts';

/** Stands for a client socket: the pacer only corks, uncorks and asks whether it is destroyed. */
class FakeSocket {
  destroyed = false;
  corks = 0;
  constructor(readonly id: number) {}
  cork(): void {
    this.corks++;
  }
  uncork(): void {}
}

const asSocket = (fake: FakeSocket) => fake as unknown as Socket;
const settled = () => new Promise((resolve) => setTimeout(resolve, 50));

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

type Step = { readonly kind: 'write'; readonly socket: number } | { readonly kind: 'callback' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('write' as const), socket: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'callback' as const }) },
);

test('each socket gets its chunks in order, each once; a callback runs once everything queued before it is written', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(step, { maxLength: 12 }), { minLength: 1, maxLength: 5 }), async (turns) => {
      const sockets = Array.from({ length: 5 }, (_, id) => new FakeSocket(id));
      const written: [socket: number, chunk: number][] = [];
      const pacer = new PacedWrites((socket, chunk) => written.push([(socket as unknown as FakeSocket).id, chunk.readUInt32BE()]));
      const queued: [socket: number, chunk: number][] = [];
      const violations: string[] = [];
      let next = 0;
      for (const turn of turns) {
        for (const action of turn) {
          if (action.kind === 'write') {
            const chunk = Buffer.alloc(4);
            chunk.writeUInt32BE(next++);
            queued.push([action.socket, chunk.readUInt32BE()]);
            pacer.write(asSocket(sockets[action.socket]!), chunk);
          } else {
            const expected = queued.slice();
            pacer.afterWritten(() => {
              const missing = expected.filter(([, chunk]) => !written.some(([, done]) => done === chunk));
              if (missing.length > 0) violations.push(`callback ran before ${missing.length} earlier writes`);
            });
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      await settled();
      assert.deepEqual(violations, []);
      for (const socket of sockets) {
        const mine = (list: [number, number][]) => list.filter(([id]) => id === socket.id).map(([, chunk]) => chunk);
        assert.deepEqual(mine(written), mine(queued), `socket ${socket.id} in order, every chunk once`);
      }
    }),
  );
});

test('writes go out a slice at a time: timers run between slices, and a socket destroyed meanwhile gets nothing', async () => {
  const sockets = Array.from({ length: 100 }, (_, id) => new FakeSocket(id));
  const written: number[] = [];
  // 2 ms a write, slices of 10 ms: about five writes a turn.
  const pacer = new PacedWrites((socket) => {
    busyFor(2);
    written.push((socket as unknown as FakeSocket).id);
  }, 10);
  for (const socket of sockets) pacer.write(asSocket(socket), Buffer.from('1|B\r\n'));
  let writtenWhenTimerRan = -1;
  setTimeout(() => (writtenWhenTimerRan = written.length), 0);
  sockets[99]!.destroyed = true;
  await new Promise((resolve) => pacer.afterWritten(() => resolve(undefined)));
  assert.ok(writtenWhenTimerRan >= 0 && writtenWhenTimerRan < 20, `a timer ran after ${writtenWhenTimerRan} writes, not after all`);
  assert.deepEqual(written, sockets.slice(0, 99).map(({ id }) => id), 'every live socket once, in order; none to the destroyed one');
});

test('chunks that wait for the same socket go out in one corked write', async () => {
  const socket = new FakeSocket(1);
  const written: string[] = [];
  const pacer = new PacedWrites((_socket, chunk) => written.push(chunk.toString()));
  pacer.write(asSocket(socket), Buffer.from('1|B\r\n'));
  pacer.write(asSocket(socket), Buffer.from('2|B\r\n'));
  await settled();
  pacer.write(asSocket(socket), Buffer.from('3|B\r\n'));
  await settled();
  assert.deepEqual(written, ['1|B\r\n', '2|B\r\n', '3|B\r\n']);
  assert.equal(socket.corks, 1, 'corked for the two that waited together only');
});
