import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { VsCode } from './support/codeServer';
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
    const row = (label: string) => pane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${label}`) }) }).first();
    await row('shop').click();
    await row('orders').waitFor({ timeout: 20_000 });
    await row('inventory').waitFor();
    assert.match(await row('orders').innerText(), /Deployment · 2\/2 ready/);
    await row('orders').click();
    const pods = pane.locator('.monaco-list-row', { hasText: /orders-[a-z0-9]+-[a-z0-9]+/ });
    await pods.first().waitFor({ timeout: 20_000 });
    assert.equal(await pods.count(), 2);
    for (const t of await pods.allInnerTexts()) assert.match(t, /Running · devlane-node-\d/);
    await vs.screenshot('cluster-1-tree');
    assert.deepEqual(await vs.errorNotifications(), []);
  });
});
