import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

/**
 * The cluster on a machine where nothing ran before: scripts/isolated.sh gives the run a mount
 * namespace of its own with a private root mount, an empty /run (no /run/netns, no shared mount an
 * earlier run made) and an empty kwok folder, its own network and PIDs. `cluster:up` there, then
 * port-forward and exec into a pod must work whatever the order of start-up (kwok starts in its
 * own mount namespace before the first pod's network namespace exists).
 */

const root = path.resolve(__dirname, '..', '..', '..');

test('on a new machine\'s mount state, cluster:up gives a cluster whose pods answer port-forward and exec', async () => {
  const child = spawn(path.join(root, 'scripts', 'isolated.sh'), [process.execPath, '--import', 'tsx', path.join(__dirname, 'support', 'freshScenario.ts')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const last = out.trim().split('\n').pop() ?? '';
  assert.equal(code, 0, `isolated run exited ${code}: ${err.slice(-2000)}`);
  const result = JSON.parse(last) as Record<string, unknown>;
  assert.equal(result.error, undefined, `${String(result.error)}\n${err.slice(-2000)}`);
  assert.equal(result.portForwardError, undefined);
  assert.equal(result.portForward, 'served by web');
  assert.equal(result.exec, 'web');
  assert.equal(result.downError, undefined);
  console.log(`cluster up on a new machine's state in ${Number(result.upMs) / 1000} s`);
});
