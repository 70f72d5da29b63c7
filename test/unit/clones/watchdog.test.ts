import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renewScript, supervisorName, supervisorScript } from '../../../extension/core/clones/spec/supervisor';
import { waitFor } from '../../support/wait';

/**
 * The supervisor's expiry watchdog, run by the real /bin/sh as a clone runs it: without renewal
 * the app is stopped at expiry and stays stopped (the supervisor stays up); a renewal moves the
 * expiry; a restart request brings the app back.
 */
test('the keep-alive supervisor stops the app when its expiry passes unrenewed, and a restart brings it back', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-watchdog-'));
  const dir = path.join(tmp, 'devlane');
  let out = '';
  const supervisor = spawn('/bin/sh', ['-c', supervisorScript, supervisorName, 'sleep', '3600'], {
    env: { ...process.env, DEVLANE_DIR: dir, DEVLANE_TTL_SECONDS: '2', DEVLANE_WATCH_SECONDS: '0.2' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  supervisor.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => supervisor.on('exit', (code) => resolve(code)));
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
  const renew = (seconds: number) => spawnSync('/bin/sh', ['-c', renewScript, 'devlane-renew', String(seconds)], { env: { ...process.env, DEVLANE_DIR: dir }, encoding: 'utf8' });
  try {
    await waitFor('the first run', () => fs.existsSync(path.join(dir, 'app.run')), { timeoutMs: 30_000 });
    const start = Number(read('expires'));
    assert.ok(Math.abs(start - (Math.floor(Date.now() / 1000) + 2)) <= 2, `expires ${start}`);
    // A renewal through the heartbeat's script moves the expiry out.
    assert.equal(renew(3).stdout.trim(), 'ok');
    assert.ok(Number(read('expires')) >= start);

    await waitFor('the watchdog to stop the app', () => fs.existsSync(path.join(dir, 'app.exit')), { timeoutMs: 30_000 });
    assert.match(read('app.exit'), /^1 /);
    await waitFor('the expiry message', () => out.includes('the clone expired'), { timeoutMs: 10_000 });
    assert.equal(supervisor.exitCode, null, 'the supervisor stays up');
    // Further watchdog rounds on the same expiry do not restart or stop anything.
    const runs = read('app.run');
    await waitFor('two more watchdog rounds', () => Number(read('expires')) < Date.now() / 1000 - 0.5, { timeoutMs: 10_000 });
    assert.equal(read('app.run'), runs);

    // Renewed and restarted (what a deploy does): the app runs again.
    assert.equal(renew(600).stdout.trim(), 'ok');
    supervisor.kill('SIGHUP');
    await waitFor('run 2', () => read('app.run').startsWith('2 '), { timeoutMs: 30_000 });

    supervisor.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (supervisor.exitCode === null) supervisor.kill('SIGKILL');
    await exited;
    // The app of the last run: the supervisor ended it on TERM; make sure of it.
    if (fs.existsSync(path.join(dir, 'app.run'))) {
      const pid = Number(read('app.run').split(' ')[1]);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
