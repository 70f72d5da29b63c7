import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { ClusterWatch, type ClusterChange } from '../../../extension/core/kube/clusterWatch';
import { silentLogger, type Logger } from '../../../extension/core/log';
import { limitedUser, testCluster, testNamespace, waitForReadyPods, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';

/** What the Cluster & Clones tree is told, against the real API server. */
describe('ClusterWatch: the tree updates without Refresh', () => {
  let kc: KubeConfig;
  let ns: TestNamespace;
  const watches: ClusterWatch[] = [];
  const spare: TestNamespace[] = [];

  before(async () => {
    ({ kc } = await testCluster());
    ns = await testNamespace(kc, 'tree');
  });
  after(async () => {
    for (const w of watches) w.dispose();
    await Promise.all([ns?.dispose(), ...spare.map((s) => s.dispose())]);
  });

  function watched(k: KubeConfig, log: Logger = silentLogger): { w: ClusterWatch; seen: ClusterChange[] } {
    const w = new ClusterWatch(k, log);
    watches.push(w);
    const seen: ClusterChange[] = [];
    w.onDidChange((c) => seen.push(c));
    return { w, seen };
  }

  test('a new and a deleted namespace change the namespace list; a deleted one is no longer watched', async () => {
    const { w, seen } = watched(kc);
    w.watchNamespaces();
    const extra = await testNamespace(kc, 'tree-new');
    spare.push(extra);
    await waitFor('the new namespace to be reported', () => seen.some((c) => c.scope === 'namespaces'));
    // The tree's root level comes from the watch, sorted as the API server lists it.
    const listed = (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name);
    assert.deepEqual(await w.namespaces(), listed);
    w.watchNamespace(extra.name);
    assert.ok(w.watchedNamespaces.includes(extra.name));
    await extra.dispose();
    await waitFor('the deleted namespace to stop being watched', () => !w.watchedNamespaces.includes(extra.name), { timeoutMs: 30_000 });
    assert.ok(!(await w.namespaces())?.includes(extra.name));
    assert.equal(await w.contents(extra.name), undefined, 'a namespace not watched holds nothing');
  });

  test('an open namespace reports and holds its Deployment, the pods it starts and their removal; a closed one reports nothing', async () => {
    const { w, seen } = watched(kc);
    w.watchNamespace(ns.name);
    w.watchNamespace(ns.name);
    assert.deepEqual(w.watchedNamespaces, [ns.name], 'a second call is a no-op');
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] } } },
      },
    });
    await waitFor('the Deployment and its pod to be reported', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' });
      return pods.items.length === 1 && seen.filter((c) => c.scope === 'namespace' && c.namespace === ns.name).length >= 2;
    });
    // What it holds is what the API server lists: the tree shows it without listing again.
    await waitFor('the held pod to be the listed one', async () => {
      const held = await w.contents(ns.name);
      const listed = await core.listNamespacedPod({ namespace: ns.name });
      return held?.deployments.map((d) => d.metadata?.name).join() === 'web' && held.statefulSets.length === 0 && held.pods.map((p) => `${p.metadata?.name}:${p.status?.phase}`).join() === listed.items.map((p) => `${p.metadata?.name}:${p.status?.phase}`).join();
    });
    const before = seen.length;
    const scale = (replicas: number) => apps.patchNamespacedDeploymentScale({ namespace: ns.name, name: 'web', body: { spec: { replicas } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await scale(0);
    await waitFor('the pod to be gone', async () => (await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' })).items.length === 0, { timeoutMs: 60_000 });
    await waitFor('the scale-down to be reported', () => seen.length > before);
    await waitFor('the held pods to be none', async () => (await w.contents(ns.name))?.pods.length === 0);

    w.unwatchNamespace(ns.name);
    assert.deepEqual(w.watchedNamespaces, []);
    const afterClose = seen.length;
    await scale(1);
    // Created, scheduled, started, ready: several changes an open namespace would have reported.
    await waitForReadyPods(kc, ns.name, 'app=web', 1);
    assert.equal(seen.length, afterClose, 'a closed namespace reports no changes');
  });

  test('without the right to watch, it says once that the tree updates on Refresh only, and stops', async () => {
    const limited = await limitedUser(kc, ns.name, 'tree-viewer', [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
    const said: string[] = [];
    const log: Logger = { ...silentLogger, info: (m: string) => said.push(m), warn: (m: string) => said.push(`warn: ${m}`) };
    const { w } = watched(limited, log);
    w.watchNamespaces();
    w.watchNamespace(ns.name);
    await waitFor('four refusals', () => said.filter((m) => m.includes('updates on Refresh only')).length === 4);
    assert.ok(said.some((m) => /^You are not allowed to list and watch namespaces \(cluster-wide\) \(403\)\..*Until then the tree updates on Refresh only\.$/.test(m)), said.join('\n'));
    assert.ok(said.some((m) => new RegExp(`^You are not allowed to list and watch pods in namespace "${ns.name}" \\(403\\)\\..*Until then the tree updates on Refresh only\\.$`).test(m)), said.join('\n'));
    assert.ok(said.some((m) => new RegExp(`^You are not allowed to list and watch deployments\\.apps in namespace "${ns.name}" \\(403\\)`).test(m)), said.join('\n'));
    assert.deepEqual(said.filter((m) => m.startsWith('warn:')), [], 'no retry warnings');
    // Nothing is held: the tree lists for itself (and shows the refusal there).
    assert.equal(await w.namespaces(), undefined);
    assert.equal(await w.contents(ns.name), undefined);
  });
});
