import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { StartTunnelParams } from '../../../dataplane/ipc/protocol';
import { forwardToPod, testCluster, testNamespace, waitForReadyPods, type TestCluster, type TestNamespace } from '../../support/cluster';
import WebSocket from 'ws';
import { once, waitFor } from '../../support/wait';
import { agentObjects as agentObjectsIn, notFound as gone, startCallerPod, waitForAgentGone, type CallerPod } from './support/agentCluster';
import { socksGet } from './support/clients';
import { startDataPlane } from './support/dataPlane';

// The transport without a bastion: an agent Job (stock node image + our script from a ConfigMap),
// outbound through SOCKS, inbound through listeners in its pod and Services in front of them.
let cluster: TestCluster;
let core: CoreV1Api;
let batch: BatchV1Api;
let ns: TestNamespace;
let dir: string;
let script: string;
let caller: CallerPod;
// The laptop's app: answers with a token and the path, or a large deterministic body on /big.
let app: http.Server;
let appPort: number;
const token = crypto.randomBytes(8).toString('hex');
const big = crypto.randomBytes(3 * 1024 * 1024 + 123);
const bigSha = crypto.createHash('sha256').update(big).digest('hex');

before(async () => {
  cluster = await testCluster();
  core = cluster.kc.makeApiClient(CoreV1Api);
  batch = cluster.kc.makeApiClient(BatchV1Api);
  await waitForReadyPods(cluster.kc, 'shop', 'app=inventory', 1, 180_000);
  ns = await testNamespace(cluster.kc, 'tunnel-agent');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-agent-'));
  script = path.join(dir, 'tunnel-agent.js');
  const esbuild = await import('esbuild');
  await esbuild.build({ entryPoints: [path.resolve(__dirname, '../../../tunnel-agent/main.ts')], outfile: script, bundle: true, platform: 'node', target: 'node18', format: 'cjs', logLevel: 'warning' });
  app = http.createServer((req, res) => {
    if (req.url === '/big') res.end(big);
    else res.end(`laptop ${token} ${req.url}`);
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as net.AddressInfo).port;
  // A workload in the cluster that calls the laptop.
  caller = await startCallerPod(cluster.kc, ns.name);
});

after(async () => {
  await ns?.dispose();
  await new Promise<void>((r) => (app ? app.close(() => r()) : r()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function params(extra: Partial<StartTunnelParams['agent']> = {}): StartTunnelParams {
  return { id: `a${crypto.randomBytes(3).toString('hex')}`, hops: [], knownHostsFiles: [], socks: { port: 0 }, agent: { kubeconfig: cluster.kubeconfigPath, namespace: ns.name, scriptPath: script, owner: 'devlane-test', ttlSeconds: 30, ...extra } };
}

const curlFromPod = (url: string, pipe = '') => caller.curl(url, pipe);
const agentObjects = (agent: string) => agentObjectsIn(cluster.kc, ns.name, agent);
const allGone = (agent: string, timeoutMs: number) => waitForAgentGone(cluster.kc, ns.name, agent, timeoutMs);

test('through the agent, SOCKS reaches inventory.shop.svc.cluster.local; stopping deletes the agent Job, pod and ConfigMap', async () => {
  const dp = startDataPlane();
  try {
    const p = params();
    const info = await dp.client.request('tunnel.start', p, 180_000);
    assert.equal(info.state.state, 'on');
    assert.equal(info.transport, 'agent');
    const agent = `devlane-agent-${p.id}`;
    const job = await batch.readNamespacedJob({ name: agent, namespace: ns.name });
    assert.equal(job.spec?.backoffLimit, 0);
    assert.ok((job.spec?.ttlSecondsAfterFinished ?? -1) >= 0);
    const cm = await core.readNamespacedConfigMap({ name: agent, namespace: ns.name });
    assert.deepEqual(cm.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}/${o.uid}`), [`Job/${agent}/${job.metadata?.uid}`]);
    const out = await socksGet(info.socksPort, 'inventory.shop.svc.cluster.local', 8080, '/healthz');
    assert.match(out, /^HTTP\/1\.1 200/);
    assert.match(out, /\{"ok":true\}/);
    // Several streams at once over the one WebSocket.
    const many = await Promise.all(Array.from({ length: 10 }, () => socksGet(info.socksPort, 'inventory.shop.svc.cluster.local', 8080, '/healthz')));
    assert.ok(many.every((r) => r.includes('{"ok":true}')));
    await dp.client.request('tunnel.stop', { id: p.id });
    await allGone(agent, 60_000);
  } finally {
    await dp.close();
  }
});

test('a pod reaches the laptop through an agent listener and through a Service; removing and stopping leave nothing', async () => {
  const dp = startDataPlane();
  try {
    const p = params();
    const agent = `devlane-agent-${p.id}`;
    await dp.client.request('tunnel.start', p, 180_000);

    // A listener in the agent pod, called by pod IP and port.
    const direct = await dp.client.request('tunnel.addReverseForward', { id: p.id, bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort: appPort });
    assert.ok(direct.reachable, 'the forward says where the cluster reaches it');
    assert.equal(direct.reachable.port, direct.bindPort);
    const base = `http://${direct.reachable.address}:${direct.reachable.port}`;
    assert.equal(await curlFromPod(`${base}/direct`), `laptop ${token} /direct`);
    // A port already taken in the agent pod (by the first listener) is refused, and nothing is added.
    await assert.rejects(
      dp.client.request('tunnel.addReverseForward', { id: p.id, bindAddress: '0.0.0.0', bindPort: direct.bindPort, localHost: '127.0.0.1', localPort: appPort }),
      (e: unknown) => (e as { reason?: string }).reason === 'port-in-use',
    );
    // More than the flow-control window, laptop → pod.
    assert.equal((await curlFromPod(`${base}/big`, ' | sha256sum'))?.split(' ')[0], bigSha);

    // The same behind a Service, called by its cluster name.
    const exposed = await dp.client.request('tunnel.addReverseForward', { id: p.id, bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort: appPort, service: { name: 'laptop-app', port: 80 } });
    assert.deepEqual(exposed.service, { name: 'laptop-app', namespace: ns.name, host: `laptop-app.${ns.name}.svc.cluster.local`, port: 80 });
    const svc = await core.readNamespacedService({ name: 'laptop-app', namespace: ns.name });
    assert.equal(svc.metadata?.labels?.['devlane.dev/owner'], 'devlane-test');
    assert.equal(svc.metadata?.labels?.['app.kubernetes.io/managed-by'], 'devlane');
    assert.deepEqual(svc.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}`), [`Job/${agent}`]);
    // Endpoints and the cluster's DNS/iptables follow the Service a moment later.
    const viaService = await waitFor('the Service to reach the laptop', () => curlFromPod(`http://laptop-app.${ns.name}.svc.cluster.local/svc`), { timeoutMs: 90_000, intervalMs: 1_000 });
    assert.equal(viaService, `laptop ${token} /svc`);

    // The agent connection drops (here: another connection replaces it, as a half-dead one would be):
    // the data plane reconnects and the listeners come back on the same ports, so the Service still leads here.
    const agentPod = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `devlane.dev/agent=${agent}` })).items[0]!.metadata!.name!;
    const pf = await forwardToPod(cluster.kc, ns.name, agentPod, 7070);
    try {
      const intruder = new WebSocket(`ws://127.0.0.1:${pf.port}/`);
      const replaced = once(intruder, 'close', 90_000);
      intruder.on('error', () => undefined);
      await once(intruder, 'open', 60_000);
      // Pings as a live client sends them: kwok's port-forward notices a closed pod end only on a write.
      const pinger = setInterval(() => intruder.readyState === WebSocket.OPEN && intruder.ping(), 500);
      try {
        // The data plane's reconnect replaces the intruder in turn.
        await replaced;
      } finally {
        clearInterval(pinger);
        intruder.terminate();
      }
    } finally {
      await pf.close();
    }
    assert.equal(await waitFor('the Service to reach the laptop after the reconnect', () => curlFromPod(`http://laptop-app.${ns.name}.svc.cluster.local/again`), { timeoutMs: 60_000, intervalMs: 1_000 }), `laptop ${token} /again`);
    assert.equal(await curlFromPod(`${base}/again`), `laptop ${token} /again`);

    const listed = await dp.client.request('hello', { version: 1 });
    assert.deepEqual(listed.tunnels[0]?.forwards.map((f) => f.service?.name ?? `${f.bindAddress}:${f.bindPort}`), [`0.0.0.0:${direct.bindPort}`, 'laptop-app']);

    // Removing the exposed forward deletes its Service and closes its listener; the other keeps working.
    await dp.client.request('tunnel.removeReverseForward', { id: p.id, bindAddress: exposed.bindAddress, bindPort: exposed.bindPort });
    assert.ok(await gone(() => core.readNamespacedService({ name: 'laptop-app', namespace: ns.name })));
    await waitFor('the removed listener to refuse', async () => (await curlFromPod(`http://${direct.reachable!.address}:${exposed.bindPort}/`)) === undefined, { timeoutMs: 30_000, intervalMs: 1_000 });
    assert.equal(await curlFromPod(`${base}/still`), `laptop ${token} /still`);

    // A local port nobody listens on: the pod's connection is closed, the tunnel stays up.
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const dead = await dp.client.request('tunnel.addReverseForward', { id: p.id, bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort: deadPort });
    assert.equal(await curlFromPod(`http://${direct.reachable.address}:${dead.bindPort}/`), undefined);
    assert.equal(await curlFromPod(`${base}/after`), `laptop ${token} /after`);

    await dp.client.request('tunnel.stop', { id: p.id });
    await allGone(agent, 60_000);
  } finally {
    await dp.close();
  }
});

test('a Service name taken by something else is refused; a leftover Service of this owner whose agent is gone is removed by the next tunnel', async () => {
  const port = [{ port: 80, targetPort: 8080 }];
  await core.createNamespacedService({ namespace: ns.name, body: { metadata: { name: 'someone-else' }, spec: { selector: { app: 'x' }, ports: port } } });
  const leftover = { 'app.kubernetes.io/managed-by': 'devlane', 'devlane.dev/component': 'tunnel-service', 'devlane.dev/agent': 'devlane-agent-gone' };
  await core.createNamespacedService({ namespace: ns.name, body: { metadata: { name: 'mine-leftover', labels: { ...leftover, 'devlane.dev/owner': 'devlane-test' } }, spec: { selector: { x: 'y' }, ports: port } } });
  await core.createNamespacedService({ namespace: ns.name, body: { metadata: { name: 'theirs-leftover', labels: { ...leftover, 'devlane.dev/owner': 'someone' } }, spec: { selector: { x: 'y' }, ports: port } } });
  const dp = startDataPlane();
  try {
    const p = params();
    await dp.client.request('tunnel.start', p, 180_000);
    assert.ok(await gone(() => core.readNamespacedService({ name: 'mine-leftover', namespace: ns.name })));
    await core.readNamespacedService({ name: 'theirs-leftover', namespace: ns.name });
    await assert.rejects(
      dp.client.request('tunnel.addReverseForward', { id: p.id, bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort: appPort, service: { name: 'someone-else', port: 80 } }),
      (e: unknown) => (e as { reason?: string }).reason === 'already-exists',
    );
    await assert.rejects(
      dp.client.request('tunnel.addReverseForward', { id: p.id, bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort: appPort, service: { name: 'Not_A_Name', port: 80 } }),
      (e: unknown) => (e as { reason?: string }).reason === 'invalid-input',
    );
    // The refused requests left no listener behind.
    assert.deepEqual((await dp.client.request('hello', { version: 1 })).tunnels[0]?.forwards, []);
    const svc = await core.readNamespacedService({ name: 'someone-else', namespace: ns.name });
    assert.equal(svc.metadata?.labels?.['devlane.dev/agent'], undefined);
    await dp.client.request('tunnel.stop', { id: p.id });
    await allGone(`devlane-agent-${p.id}`, 60_000);
  } finally {
    await dp.close();
    for (const name of ['someone-else', 'theirs-leftover']) await core.deleteNamespacedService({ name, namespace: ns.name }).catch(() => undefined);
  }
});

test('when the data plane dies, the agent exits after its TTL and its Job, pod, ConfigMap and Service delete themselves', async () => {
  const dp = startDataPlane();
  const ttlSeconds = 8;
  const p = params({ ttlSeconds });
  const agent = `devlane-agent-${p.id}`;
  try {
    await dp.client.request('tunnel.start', p, 180_000);
    await dp.client.request('tunnel.addReverseForward', { id: p.id, bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort: appPort, service: { name: 'orphaned-app', port: 80 } });
    assert.deepEqual((await agentObjects(agent)).filter((o) => !o.startsWith('pod/')).sort(), [`configmap/${agent}`, `job/${agent}`, 'service/orphaned-app']);
    // The laptop disappears without cleaning up: the heartbeats stop and nobody calls DELETE.
    const killedAt = Date.now();
    process.kill(dp.client.pid!, 'SIGKILL');
    // TTL, then the Job's ttlSecondsAfterFinished, then garbage collection; the margin is for a loaded machine.
    await allGone(agent, (ttlSeconds + 5) * 1000 + 60_000);
    console.log(`# agent objects gone ${Math.round((Date.now() - killedAt) / 100) / 10} s after the data plane was killed (TTL ${ttlSeconds} s)`);
  } finally {
    dp.client.dispose();
    // The killed data plane could not remove its socket: its runtime folder goes with the test.
    fs.rmSync(dp.runtimeDir, { recursive: true, force: true });
    await batch.deleteNamespacedJob({ name: agent, namespace: ns.name, propagationPolicy: 'Background' }).catch(() => undefined);
    await core.deleteNamespacedService({ name: 'orphaned-app', namespace: ns.name }).catch(() => undefined);
  }
});
