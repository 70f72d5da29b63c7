import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { StartTunnelParams } from '../../../dataplane/ipc/protocol';
import { testCluster, testNamespace, waitForReadyPods, type TestCluster, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { socksGet } from './support/clients';
import { startDataPlane } from './support/dataPlane';

// The transport without a bastion: an agent pod (stock node image + our script from a ConfigMap).
let cluster: TestCluster;
let ns: TestNamespace;
let dir: string;
let script: string;

before(async () => {
  cluster = await testCluster();
  await waitForReadyPods(cluster.kc, 'shop', 'app=inventory', 1, 180_000);
  ns = await testNamespace(cluster.kc, 'tunnel-agent');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-agent-'));
  script = path.join(dir, 'tunnel-agent.js');
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [path.resolve(__dirname, '../../../tunnel-agent/main.ts')], outfile: script, bundle: true, platform: 'node', target: 'node18', format: 'cjs', logLevel: 'warning' });
});

after(async () => {
  await ns?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function params(extra: Partial<StartTunnelParams['agent']> = {}): StartTunnelParams {
  return { id: `a${Math.random().toString(36).slice(2, 8)}`, hops: [], knownHostsFiles: [], socks: { port: 0 }, agent: { kubeconfig: cluster.kubeconfigPath, namespace: ns.name, scriptPath: script, owner: 'devlane-test', ttlSeconds: 30, ...extra } };
}

async function podGone(name: string): Promise<void> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  await waitFor(`pod ${name} to be deleted`, async () => {
    try {
      await core.readNamespacedPod({ name, namespace: ns.name });
      return false;
    } catch (e) {
      return (e as { code?: number }).code === 404;
    }
  }, { timeoutMs: 60_000, intervalMs: 250 });
}

test('through the agent, SOCKS reaches inventory.shop.svc.cluster.local; stopping deletes the agent', async () => {
  const dp = startDataPlane();
  try {
    const p = params();
    const info = await dp.client.request('tunnel.start', p, 180_000);
    assert.equal(info.state.state, 'on');
    const out = await socksGet(info.socksPort, 'inventory.shop.svc.cluster.local', 8080, '/healthz');
    assert.match(out, /^HTTP\/1\.1 200/);
    assert.match(out, /\{"ok":true\}/);
    // Several streams at once over the one WebSocket.
    const many = await Promise.all(Array.from({ length: 10 }, () => socksGet(info.socksPort, 'inventory.shop.svc.cluster.local', 8080, '/healthz')));
    assert.ok(many.every((r) => r.includes('{"ok":true}')));
    await dp.client.request('tunnel.stop', { id: p.id });
    await podGone(`devlane-agent-${p.id}`);
  } finally {
    await dp.close();
  }
});

test('an agent whose data plane vanished exits after its TTL and is removed by the owner\'s next tunnel', async () => {
  const dp = startDataPlane();
  const p = params({ ttlSeconds: 8 });
  const name = `devlane-agent-${p.id}`;
  const core = cluster.kc.makeApiClient(CoreV1Api);
  try {
    await dp.client.request('tunnel.start', p, 180_000);
    // The laptop disappears without cleaning up: the heartbeats stop.
    process.kill(dp.client.pid!, 'SIGKILL');
    const pod = await waitFor('the agent pod to complete', async () => {
      const r = await core.readNamespacedPod({ name, namespace: ns.name });
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    assert.equal(pod.status?.phase, 'Succeeded');
    // The owner's next tunnel removes the expired agent (and only the owner's).
    const next = startDataPlane();
    try {
      const p2 = params();
      await next.client.request('tunnel.start', p2, 180_000);
      await podGone(name);
      await next.client.request('tunnel.stop', { id: p2.id });
      await podGone(`devlane-agent-${p2.id}`);
    } finally {
      await next.close();
    }
  } finally {
    dp.client.dispose();
    // The killed data plane could not remove its socket: its runtime folder goes with the test.
    fs.rmSync(dp.runtimeDir, { recursive: true, force: true });
    await core.deleteNamespacedPod({ name, namespace: ns.name, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
});
