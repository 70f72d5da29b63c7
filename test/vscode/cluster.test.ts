import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Locator } from 'playwright-core';
import { expandRow, VsCode } from './support/codeServer';
import { testCluster, testNamespace } from '../support/cluster';
import { waitFor } from '../support/wait';

/** With the test cluster: the Cluster & Clones tree shows what the API server has. */
describe('VS Code: Devlane on the test cluster', () => {
  let vs: VsCode;
  let kc: KubeConfig;

  /** The Devlane view opened and connected, and a finder for its rows by label. */
  async function clusterView(): Promise<(label: string) => Locator> {
    const page = vs.page;
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Cluster & Clones' }) });
    // A click on the icon of the open view would close the side bar again.
    if (!(await pane.isVisible())) await page.locator('.activitybar .action-item a[aria-label^="Devlane"]').click();
    // The header names the context and the server's version once connected.
    await pane.locator('.pane-header').getByText('v1.', { exact: false }).waitFor({ timeout: 30_000 });
    return (label: string) => pane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first();
  }

  before(async () => {
    const cluster = await testCluster();
    kc = cluster.kc;
    vs = await VsCode.start('cluster', { settings: { 'devlane.kubeconfig': cluster.kubeconfigPath } });
  });
  after(async () => {
    await vs?.close();
  });

  test('the tree lists namespaces, the sample Deployments and their running pods', async () => {
    const row = await clusterView();
    await expandRow(row('shop'));
    await row('orders').waitFor({ timeout: 20_000 });
    await row('inventory').waitFor();
    assert.match(await row('orders').innerText(), /Deployment · 2\/2 ready/);
    await expandRow(row('orders'));
    // The Deployment's own pods, as the API server lists them (clones drop the selector labels).
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'shop', labelSelector: 'app=orders' });
    assert.equal(pods.items.length, 2);
    for (const p of pods.items) {
      const r = row(p.metadata?.name ?? '');
      await r.waitFor({ timeout: 20_000 });
      assert.match(await r.innerText(), /Running · devlane-node-\d/);
    }
    await vs.screenshot('cluster-1-tree');
    assert.deepEqual(await vs.errorNotifications(), []);
  });

  test('the tree follows the cluster without Refresh: a new namespace, its Deployment and pods, a scale-down, the namespace deleted', async () => {
    const row = await clusterView();
    const ns = await testNamespace(kc, 'live');
    try {
      await row(ns.name).waitFor({ timeout: 30_000 });
      await expandRow(row(ns.name));
      const labels = { app: 'web' };
      const apps = kc.makeApiClient(AppsV1Api);
      await apps.createNamespacedDeployment({
        namespace: ns.name,
        body: {
          metadata: { name: 'web' },
          spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] } } },
        },
      });
      const shows = (r: Locator, text: RegExp) => waitFor(`${text} in the tree`, async () => text.test(await r.innerText({ timeout: 2_000 }).catch(() => '')), { timeoutMs: 60_000, intervalMs: 250 });
      await shows(row('web'), /Deployment · 2\/2 ready/);
      await expandRow(row('web'));
      const core = kc.makeApiClient(CoreV1Api);
      const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' })).items.map((p) => p.metadata?.name ?? '');
      assert.equal(pods.length, 2);
      for (const p of pods) await shows(row(p), /Running · devlane-node-\d/);
      await vs.screenshot('cluster-2-live-deployment');

      await apps.patchNamespacedDeploymentScale({ namespace: ns.name, name: 'web', body: { spec: { replicas: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await shows(row('web'), /Deployment · 1\/1 ready/);
      await waitFor('one pod row to go', async () => (await Promise.all(pods.map((p) => row(p).count()))).filter((n) => n > 0).length === 1, { timeoutMs: 60_000, intervalMs: 250 });
    } finally {
      await ns.dispose();
    }
    await row(ns.name).waitFor({ state: 'detached', timeout: 30_000 });
    assert.deepEqual(await vs.errorNotifications(), []);
  });
});
