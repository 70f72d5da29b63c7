import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { VsCode, repoRoot } from './support/codeServer';
import { testCluster } from '../support/cluster';
import { freePort } from '../support/net';
import { waitFor } from '../support/wait';
import { cloneAnnotations, ownerSelector } from '../../extension/core/clones/labels';
import { ownerIdentity } from '../../extension/core/clones/spec/identity';
import { deleteClone, type CloneEnv } from '../../extension/core/clones/lifecycle';
import { ServerClock } from '../../extension/core/clones/serverClock';
import { silentLogger } from '../../extension/core/log';

/**
 * `npm start` as a newcomer meets it: its own settings, its own workspace (the sample shop), the
 * URL it prints opened in Chromium. The Get Started walkthrough opens by itself; a breakpoint in
 * OrdersApp.java, the walkthrough's *Start Debugging* (F5 with the shop's launch configuration:
 * build, clone of shop/orders, deploy, attach), its *Send Request to Clone…* with /order?item=pear:
 * the editor stops on the line with the request's values, and the answer comes once continued.
 * Nothing here sets a setting or a file for VS Code: only what `npm start` does.
 */

const shop = path.join(repoRoot, 'cluster', 'samples', 'shop');
const ordersJava = 'orders/src/main/java/dev/devlane/shop/orders/OrdersApp.java';

describe('npm start: the demo, from the printed URL to a stopped breakpoint', () => {
  let kc: KubeConfig;
  let start: ChildProcess | undefined;
  let vs: VsCode | undefined;
  let output = '';
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-start-profile-'));
  const builtBefore = fs.existsSync(path.join(shop, 'orders', 'target'));
  const line = fs.readFileSync(path.join(shop, ordersJava), 'utf8').split('\n').findIndex((l) => l.includes('if (item.isEmpty())')) + 1;
  let env: CloneEnv;

  before(async () => {
    ({ kc } = await testCluster());
    env = { kc, owner: ownerIdentity({ kubeUser: kc.getCurrentUser()?.name ?? '', osUser: os.userInfo().username, host: os.hostname() }), clock: new ServerClock(kc), log: silentLogger };
    const port = await freePort();
    const childEnv = { ...process.env };
    // As a user starts it: no kubeconfig given, so npm start uses (or starts) the demo cluster.
    delete childEnv.KUBECONFIG;
    start = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.mjs'), '--port', String(port), '--profile', profile], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    start.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
    start.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const url = await waitFor('npm start to print the URL', () => {
      if (start?.exitCode !== null) throw new Error(`npm start exited (${start?.exitCode}):\n${output}`);
      return /Devlane runs in VS Code at:\n\s+(http:\/\/\S+)/.exec(output)?.[1];
    }, { timeoutMs: 600_000, intervalMs: 250 });
    vs = await VsCode.open(url, { workspace: shop, userDataDir: path.join(profile, 'user-data'), server: start, dirs: [profile] });
  });

  after(async () => {
    for (const p of await myShopClones().catch(() => [])) await deleteClone(env, 'shop', p.metadata!.name!).catch(() => undefined);
    if (start && start.exitCode === null && start.signalCode === null) {
      // Ctrl-C, as a user stops it: code-server ends, the cluster it did not start stays.
      start.kill('SIGTERM');
      await new Promise((resolve) => start!.once('exit', resolve));
    }
    await vs?.close();
    if (!builtBefore) fs.rmSync(path.join(shop, 'orders', 'target'), { recursive: true, force: true });
  });

  async function myShopClones(): Promise<V1Pod[]> {
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'shop', labelSelector: ownerSelector(env.owner.label) });
    return pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.annotations?.[cloneAnnotations.cloneOf] === 'Deployment/orders');
  }

  test('the walkthrough\'s F5 and request stop on the breakpoint with the request\'s values', async () => {
    try {
      await scenario();
    } catch (e) {
      await vs?.screenshot('start-failure').catch(() => undefined);
      console.error(output.split('\n').slice(-20).join('\n'));
      console.error(vs?.devlaneLog().split('\n').slice(-40).join('\n'));
      throw e;
    }
  });

  async function scenario(): Promise<void> {
    const v = vs!;
    const page = v.page;
    assert.equal((await myShopClones()).length, 0, 'no clone of shop/orders before the demo');
    // The walkthrough opens by itself in the demo.
    const walkthrough = page.locator('.gettingStartedContainer');
    await walkthrough.getByText('Get started with Devlane').first().waitFor({ timeout: 60_000 });
    await v.screenshot('start-1-walkthrough');
    // The cluster view shows the demo cluster's shop namespace.
    await walkthrough.getByRole('button', { name: 'Open Cluster & Clones' }).click({ timeout: 15_000 }).catch(() => v.runCommand('Devlane: Focus on Cluster & Clones View'));
    await page.locator('.pane', { hasText: 'Cluster & Clones' }).locator('.monaco-list-row', { hasText: 'shop' }).first().waitFor({ timeout: 60_000 });

    // The breakpoint, in the editor.
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input.input').fill('OrdersApp.java');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'OrdersApp.java' }).first().click();
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.getByText('handleOrder', { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input.input').fill(`:${line}`);
    await page.keyboard.press('Enter');
    await v.runCommand('Debug: Toggle Breakpoint');
    await editor.locator('.codicon-debug-breakpoint').first().waitFor({ timeout: 15_000 });

    // Back to the walkthrough: its F5 step.
    await page.locator('.tabs-container .tab', { hasText: 'Walkthrough' }).first().click();
    await walkthrough.getByText('Press F5: debug it in your clone').first().click();
    await walkthrough.getByRole('button', { name: 'Start Debugging' }).click({ timeout: 15_000 });
    const stack = page.locator('.debug-call-stack');
    await stack.locator('.monaco-list-row', { hasText: /Running|Paused/i }).first().waitFor({ timeout: 300_000 });
    const clones = await myShopClones();
    assert.equal(clones.length, 1, 'F5 made one clone of shop/orders');
    const clone = clones[0]!.metadata!.name!;
    await v.screenshot('start-2-attached');

    // The walkthrough's request step.
    await page.locator('.tabs-container .tab', { hasText: 'Walkthrough' }).first().click();
    await walkthrough.getByText('Send a request into your clone').first().click();
    await walkthrough.getByRole('button', { name: 'Send Request to Clone…' }).click({ timeout: 15_000 });
    await page.locator('.quick-input-widget', { hasText: `Send request to ${clone}:8080` }).waitFor({ timeout: 30_000 });
    await page.locator('.quick-input-widget input.input').fill('/order?item=pear');
    await page.keyboard.press('Enter');
    const top = stack.locator('.monaco-list-row', { hasText: 'handleOrder' }).first();
    await top.waitFor({ timeout: 60_000 });
    assert.match(await top.innerText(), new RegExp(`OrdersApp\\.java\\s*${line}:`));
    await editor.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 15_000 });
    const variables = page.locator('.debug-variables');
    await variables.locator('.monaco-list-row', { hasText: 'item' }).filter({ hasText: '"pear"' }).first().waitFor({ timeout: 30_000 });
    await variables.locator('.monaco-list-row', { hasText: 'pod' }).filter({ hasText: `"${clone}"` }).first().waitFor({ timeout: 30_000 });
    assert.equal(await page.getByText('Could not load source', { exact: false }).count(), 0);
    await v.screenshot('start-3-stopped');

    // Continued: the shop's inventory answers, so does the clone.
    await v.runCommand('Debug: Continue');
    await page.locator('.notification-toast', { hasText: `${clone} answered 200` }).first().waitFor({ timeout: 60_000 });
    await v.screenshot('start-4-answered');
    await v.runCommand('Debug: Disconnect');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
    assert.deepEqual(await v.errorNotifications(), []);
  }
});
