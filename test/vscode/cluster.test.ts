import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { expandRow, VsCode } from './support/codeServer';
import { testCluster } from '../support/cluster';

/** With the test cluster: the Cluster & Clones tree shows what the API server has. */
describe('VS Code: Devlane on the test cluster', () => {
  let vs: VsCode;

  before(async () => {
    const { kubeconfigPath } = await testCluster();
    vs = await VsCode.start('cluster', { settings: { 'devlane.kubeconfig': kubeconfigPath } });
  });
  after(async () => {
    await vs?.close();
  });

  test('the tree lists namespaces, the sample Deployments and their running pods', async () => {
    const page = vs.page;
    await page.locator('.activitybar .action-item a[aria-label^="Devlane"]').click();
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Cluster & Clones' }) });
    // The header names the context and the server's version once connected.
    await pane.locator('.pane-header').getByText('v1.', { exact: false }).waitFor({ timeout: 30_000 });
    const row = (label: string) => pane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first();
    await expandRow(row('shop'));
    await row('orders').waitFor({ timeout: 20_000 });
    await row('inventory').waitFor();
    assert.match(await row('orders').innerText(), /Deployment · 2\/2 ready/);
    await expandRow(row('orders'));
    // The Deployment's own pods, as the API server lists them (clones drop the selector labels).
    const { kc } = await testCluster();
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
});
