import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keysFor } from '@follower-maze/shared';
import { deletePrefix, eventually, TEST_REDIS_URL, testRedis, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { OPS_MAIN, writeStackKeys } from './support/ops-top.ts';

/**
 * `ops top` on a real terminal: a detached tmux session of a given size runs it, the test
 * reads the pane and types keys. tmux runs on a server of its own, its socket in a
 * directory of the test's, without any user configuration.
 */
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TMUX_DIR = mkdtempSync(join(tmpdir(), 'fm-top-tmux-'));
const COLUMNS = 60;
const ROWS = 20;
const redis = testRedis();
after(() => {
  redis.disconnect();
  try {
    tmux('kill-server');
  } catch {
    // No session left, no server.
  }
  rmSync(TMUX_DIR, { recursive: true, force: true });
});

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-S', join(TMUX_DIR, 'socket'), '-f', '/dev/null', ...args], {
    encoding: 'utf8', env: { ...process.env, TERM: process.env['TERM'] ?? 'xterm' },
  });
}

const pane = (session: string) => tmux('capture-pane', '-p', '-t', session);

/** `key` as tmux names it: `q`, `C-c`. */
for (const key of ['q', 'C-c']) {
  test(`redraws in place on a ${COLUMNS}-column terminal and gives it back as it was on ${key}`, async () => {
    const prefix = uniquePrefix('top-tmux');
    const session = `top-${key}`;
    try {
      await writeStackKeys(redis, keysFor(prefix));
      const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
      const command = [
        'env', `REDIS_URL=${quote(TEST_REDIS_URL)}`, `KEY_PREFIX=${quote(prefix)}`,
        quote(process.execPath), '--import', 'tsx', quote(OPS_MAIN), 'top',
        // What the shell sees afterwards: top's exit code and the terminal's modes.
        '; echo "EXITED $?"; stty -a; sleep 60',
      ].join(' ');
      tmux('new-session', '-d', '-s', session, '-x', String(COLUMNS), '-y', String(ROWS), '-c', REPO_ROOT, command);

      const screen = await eventually(() => {
        const shown = pane(session);
        assert.match(shown, /^sequencer  vm-1 leads/m, 'a screen drawn');
        return shown.split('\n');
      }, 15_000, 100);
      assert.match(screen[0]!, /^follower-maze top {2}\d\d:\d\d:\d\d UTC {2}q quits {2}fmtest-top-t/);
      assert.ok(screen.every((line) => line.length <= COLUMNS), 'every line within the terminal width');
      // Cut, not wrapped: each field on its own row.
      assert.deepEqual(screen.slice(1, 7).map((line) => line.split(' ')[0]), ['events', 'stream', 'sequencer', 'gateways', 'redis', 'waiting']);
      const firstClock = screen[0]!.slice(19, 27);
      await eventually(() => assert.notEqual(pane(session).split('\n')[0]!.slice(19, 27), firstClock, 'redrawn a second later'), 5000, 100);
      assert.equal(pane(session).split('follower-maze top').length - 1, 1, 'drawn over, not scrolled');

      tmux('send-keys', '-t', session, key);
      const after = await eventually(() => {
        const shown = pane(session);
        assert.match(shown, /^EXITED 0$/m, 'top exited');
        assert.match(shown, /\bicanon\b/, 'stty printed');
        return shown;
      }, 5000, 100);
      assert.doesNotMatch(after, /follower-maze top/, 'the alternate screen is gone');
      assert.match(after, /(^|\s)icanon(\s|$)/m, 'line editing is back');
      assert.match(after, /(^|\s)echo(\s|$)/m, 'echo is back');
    } finally {
      try {
        tmux('kill-session', '-t', session);
      } catch {
        // Already gone.
      }
      await deletePrefix(redis, prefix);
    }
  });
}
