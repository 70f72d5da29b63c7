import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DiscoveryV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { isDevlaneError } from '../../../extension/core/errors';
import { execIn } from '../../../extension/core/kube/exec';
import { cloneAnnotations, cloneLabels } from '../../../extension/core/clones/labels';
import { leaseName } from '../../../extension/core/clones/lease';
import { createClone, deleteClone, extendClone, listClones, podsOfWorkload, restartApp, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { captureContainerName, captureFile } from '../../../extension/core/clones/spec/build';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { appCommandOf, isSupervised } from '../../../extension/core/clones/spec/supervisor';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, ordersCommand, type Fixture } from './fixture';

let kc: KubeConfig;
let fx: Fixture;
let me: CloneEnv;

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc);
  me = envFor(kc, 'alice');
});

after(async () => {
  await fx?.dispose();
});

async function sh(pod: string, container: string, script: string): Promise<string> {
  return (await execIn(kc, fx.namespace, pod, container, ['/bin/sh', '-c', script], { timeoutMs: 30_000 })).stdout.toString('utf8');
}

async function gone(name: string): Promise<void> {
  await waitFor(`pod ${name} to be gone`, async () => {
    try {
      await fx.core.readNamespacedPod({ name, namespace: fx.namespace });
      return false;
    } catch {
      return true;
    }
  }, { timeoutMs: 60_000, intervalMs: 250 });
}

test('a clone of a Deployment runs the app under the supervisor with every option in its spec', async () => {
  const options = resolveOptions({
    removeProbes: { liveness: true, readiness: true, startup: true },
    jvm: { jdwp: { enabled: true, port: 5005, suspend: false }, exceptionLogging: true, heapDumpOnOom: true },
    capture: { enabled: true, mode: 'sidecar', image: 'busybox', filter: 'tcp', fileSizeMb: 1, fileCount: 2 },
    env: { GREETING: 'hello-clone' },
    labels: { lane: 'alice' },
    resources: { requests: { cpu: '50m', memory: '96Mi' } },
    ttlMinutes: 30,
  });
  const { info, pod } = await createClone(me, { kind: 'Deployment', namespace: fx.namespace, name: 'orders' }, options);
  try {
    assert.equal(info.phase, 'Running');
    assert.equal(info.supervised, true);
    const spec = pod.spec!;
    const app = spec.containers.find((c) => c.name === 'orders')!;
    assert.ok(isSupervised(app.command));
    assert.deepEqual(appCommandOf(app.command!), ordersCommand);
    assert.equal(app.livenessProbe, undefined);
    assert.equal(app.readinessProbe, undefined);
    const env = Object.fromEntries((app.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.GREETING, 'hello-clone');
    assert.equal(env.DEVLANE_CAPTURE, 'sidecar');
    assert.match(env.JAVA_TOOL_OPTIONS!, /-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=\*:5005/);
    assert.match(env.JAVA_TOOL_OPTIONS!, /-XX:\+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=\/devlane/);
    assert.match(env.JAVA_TOOL_OPTIONS!, /-Xlog:exceptions=info/);
    assert.deepEqual(app.resources?.requests, { cpu: '50m', memory: '96Mi' });
    assert.ok(app.volumeMounts?.some((m) => m.mountPath === '/devlane'));
    assert.ok(spec.volumes?.some((v) => v.name === 'devlane' && v.emptyDir));
    assert.ok(spec.containers.some((c) => c.name === captureContainerName));
    const labels = pod.metadata!.labels!;
    assert.equal(labels[cloneLabels.owner], me.owner.label);
    assert.equal(labels[cloneLabels.cloneOf], 'orders');
    assert.equal(labels.lane, 'alice');
    assert.equal(labels.tier, 'backend');
    assert.equal(labels.app, undefined, 'out of the Service and Deployment selectors');
    // The source's owner (its ReplicaSet) is dropped; the only owner is the clone's lease Job.
    assert.deepEqual(pod.metadata!.ownerReferences?.map((o) => [o.kind, o.name, o.controller]), [['Job', leaseName(info.ref.name), false]]);
    // The expiry is on the server's clock: TTL after the creation the server stamped.
    const expires = Date.parse(pod.metadata!.annotations![cloneAnnotations.expiresAt]!);
    const created = new Date(pod.metadata!.creationTimestamp!).getTime();
    assert.ok(Math.abs(expires - created - 30 * 60_000) < 10_000, `expiry ${expires - created} ms after creation`);

    // It really runs: the app answers inside the pod, JDWP listens, the capture started first.
    await waitFor('the app to answer in the clone', async () => (await sh(info.ref.name, 'orders', 'curl -s localhost:8080/healthz')).includes('"ok":true'), { timeoutMs: 60_000, intervalMs: 500 });
    const listening = await sh(info.ref.name, 'orders', 'cat /proc/net/tcp /proc/net/tcp6');
    assert.match(listening, /:138D [0-9A-F]+:0000 0A /, 'JDWP listens on 5005');
    assert.match(await sh(info.ref.name, 'orders', `ls ${captureFile}*`), /capture\.pcap/);
    // Not an endpoint of the original Service.
    const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: fx.namespace, labelSelector: 'kubernetes.io/service-name=orders' });
    const podIp = (await fx.core.readNamespacedPod({ name: info.ref.name, namespace: fx.namespace })).status?.podIP;
    const addresses = slices.items.flatMap((s) => s.endpoints.flatMap((e) => e.addresses));
    assert.ok(addresses.length > 0, 'the Service has its own endpoint');
    assert.ok(podIp && !addresses.includes(podIp), 'the clone is not behind the Service');

    const mine = await listClones(me, [fx.namespace]);
    assert.deepEqual(mine.map((c) => c.ref.name), [info.ref.name]);
    assert.equal(mine[0]!.node, info.node);
    assert.deepEqual(await listClones(envFor(kc, 'bob'), [fx.namespace]), []);
  } finally {
    await deleteClone(me, fx.namespace, info.ref.name);
  }
  await gone(info.ref.name);
});

test('a clone of a pod, pinned to a node, with its original command', async () => {
  const [source] = await podsOfWorkload(me, { kind: 'Deployment', namespace: fx.namespace, name: 'orders' });
  const nodes = (await fx.core.listNode()).items.map((n) => n.metadata!.name!);
  const target = nodes.find((n) => n !== source!.spec!.nodeName) ?? nodes[0]!;
  const { info, pod } = await createClone(me, { kind: 'Pod', namespace: fx.namespace, name: source!.metadata!.name! }, resolveOptions({ startCommand: 'original', nodeName: target, jvm: { jdwp: { enabled: false }, heapDumpOnOom: false }, name: `pinned-${fx.namespace.slice(-6)}` }));
  try {
    assert.equal(info.ref.name, `pinned-${fx.namespace.slice(-6)}`);
    assert.equal(info.node, target);
    assert.equal(pod.spec!.nodeName, target);
    assert.deepEqual(pod.spec!.containers[0]!.command, ordersCommand);
    assert.equal(pod.spec!.containers[0]!.livenessProbe, undefined);
    assert.ok(pod.spec!.containers[0]!.readinessProbe);
    assert.equal(pod.metadata!.annotations![cloneAnnotations.cloneOf], `Pod/${source!.metadata!.name}`);
    assert.deepEqual(JSON.parse(pod.metadata!.annotations![cloneAnnotations.originalLabels]!), { app: 'orders', 'pod-template-hash': source!.metadata!.labels!['pod-template-hash'] });
    assert.equal(info.supervised, false);

    // Same name again: a clear clash, and the existing clone is left alone.
    await assert.rejects(createClone(me, { kind: 'Pod', namespace: fx.namespace, name: source!.metadata!.name! }, resolveOptions({ startCommand: 'original', name: info.ref.name })), (e) => isDevlaneError(e) && e.reason === 'already-exists' && e.message.includes(info.ref.name));
    const still = await fx.core.readNamespacedPod({ name: info.ref.name, namespace: fx.namespace });
    assert.equal(still.metadata!.uid, info.uid);

    // Nobody else may extend or delete it.
    const bob = envFor(kc, 'bob');
    await assert.rejects(deleteClone(bob, fx.namespace, info.ref.name), (e) => isDevlaneError(e) && /belongs to/.test(e.message));
    await assert.rejects(extendClone(bob, fx.namespace, info.ref.name, 60), (e) => isDevlaneError(e) && /belongs to/.test(e.message));
    const before = info.expiresAt!.getTime();
    const extended = await extendClone(me, fx.namespace, info.ref.name, 600);
    assert.ok(extended.getTime() > before);
    const after = await fx.core.readNamespacedPod({ name: info.ref.name, namespace: fx.namespace });
    assert.equal(after.metadata!.annotations![cloneAnnotations.expiresAt], extended.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  } finally {
    await deleteClone(me, fx.namespace, info.ref.name);
  }
  await gone(info.ref.name);
});

test('a keep-alive clone survives its app exiting and restarts it on request', async () => {
  const { info } = await createClone(me, { kind: 'Deployment', namespace: fx.namespace, name: 'sleeper' }, resolveOptions({ jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }));
  try {
    const first = (await sh(info.ref.name, 'main', 'cat /devlane/app.run')).trim().split(' ');
    assert.equal(first[0], '1');
    await sh(info.ref.name, 'main', `kill ${first[1]}`);
    await waitFor('the supervisor to record the exit', async () => (await sh(info.ref.name, 'main', 'cat /devlane/app.exit 2>/dev/null')).startsWith('1 '), { timeoutMs: 30_000, intervalMs: 250 });
    const pod: V1Pod = await fx.core.readNamespacedPod({ name: info.ref.name, namespace: fx.namespace });
    assert.equal(pod.status?.phase, 'Running');
    const cs = pod.status?.containerStatuses?.find((c) => c.name === 'main');
    assert.equal(cs?.restartCount, 0, 'the container did not restart: only the app ended');
    assert.ok(cs?.state?.running);

    await restartApp(me, fx.namespace, info.ref.name);
    await waitFor('run 2 of the app', async () => (await sh(info.ref.name, 'main', 'cat /devlane/app.run')).startsWith('2 '), { timeoutMs: 30_000, intervalMs: 250 });
    const second = (await sh(info.ref.name, 'main', 'cat /devlane/app.run')).trim().split(' ');
    assert.match(await sh(info.ref.name, 'main', `cat /proc/${second[1]}/cmdline | tr '\\0' ' '`), /^sleep 3600/);
  } finally {
    await deleteClone(me, fx.namespace, info.ref.name);
  }
  await gone(info.ref.name);
});

test('an unschedulable clone reports the scheduler\'s reason and is rolled back', async () => {
  const before = (await fx.core.listNamespacedPod({ namespace: fx.namespace })).items.length;
  await assert.rejects(
    createClone(me, { kind: 'Deployment', namespace: fx.namespace, name: 'sleeper' }, resolveOptions({ resources: { requests: { cpu: '500' } } })),
    (e) => isDevlaneError(e) && e.reason === 'unschedulable' && /Insufficient cpu/.test(e.message),
  );
  await waitFor('the rolled-back clone to be gone', async () => (await listClones(me, [fx.namespace])).length === 0, { timeoutMs: 60_000, intervalMs: 250 });
  assert.equal((await fx.core.listNamespacedPod({ namespace: fx.namespace })).items.filter((p) => !p.metadata?.deletionTimestamp).length, before);
});

test('a workload without pods and a missing source are clear errors', async () => {
  await fx.apps.patchNamespacedDeploymentScale(
    { name: 'sleeper', namespace: fx.namespace, body: { spec: { replicas: 0 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  try {
    await waitFor('sleeper to have no pods', async () => (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: 'app=sleeper' })).items.length === 0, { timeoutMs: 60_000, intervalMs: 250 });
    await assert.rejects(podsOfWorkload(me, { kind: 'Deployment', namespace: fx.namespace, name: 'sleeper' }), (e) => isDevlaneError(e) && e.reason === 'no-pods' && /sleeper has no pods/.test(e.message));
  } finally {
    await fx.apps.patchNamespacedDeploymentScale(
      { name: 'sleeper', namespace: fx.namespace, body: { spec: { replicas: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
  await assert.rejects(createClone(me, { kind: 'Deployment', namespace: fx.namespace, name: 'nope' }), (e) => isDevlaneError(e) && e.reason === 'not-found');
});
