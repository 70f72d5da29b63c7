import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { CoreV1Api } from '@kubernetes/client-node';
import { testCluster, testNamespace, waitForPodReady } from '../../support/cluster';
import { waitFor } from '../../support/wait';

/**
 * The extension ships as one esbuild bundle: exec and port-forward must work from the bundle,
 * not only from sources. The probe is built with the very options of scripts/build.mjs.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-bundle-'));
let ns: { name: string; dispose(): Promise<void> };

before(async () => {
  const { kc } = await testCluster();
  ns = await testNamespace(kc, 'bundle');
  await kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace: ns.name,
    body: {
      metadata: { name: 'web' },
      spec: { containers: [{ name: 'app', image: 'node:20', command: ['node', '-e', "require('http').createServer((q, s) => s.end('hello from the pod')).listen(8080, '127.0.0.1')"] }] },
    },
  });
  await waitForPodReady(kc, ns.name, 'web');
});
after(async () => {
  await ns?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the bundled client-node execs and port-forwards', async () => {
  const { kubeconfigPath } = await testCluster();
  const { node } = await import('../../../scripts/build.mjs');
  const out = path.join(dir, 'probe.js');
  await esbuild.build({ ...node, entryPoints: [path.join(__dirname, 'bundled-client.entry.ts')], outfile: out, sourcemap: false, logLevel: 'error' });
  const text = fs.readFileSync(out, 'utf8');
  assert.ok(!text.includes('isomorphic-ws/browser'), 'the browser build of isomorphic-ws was bundled');
  // The HTTP server may take a moment after Running to bind: the probe runs until it answers.
  const result = await waitFor('the bundled probe to exec and port-forward', () => {
    const stdout = execFileSync(process.execPath, [out, kubeconfigPath, ns.name, 'web', '8080'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as { exec: string; execStatus: string; http: string };
  }, { timeoutMs: 90_000, intervalMs: 500 });
  assert.equal(result.exec, 'bundled-exec-ok');
  assert.equal(result.execStatus, 'Success');
  assert.equal(result.http, 'hello from the pod');
});
