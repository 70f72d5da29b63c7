import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { VsCode } from './support/codeServer';
import { testCluster, testNamespace, type TestNamespace } from '../support/cluster';
import { waitFor } from '../support/wait';
import { cloneAnnotations } from '../../extension/core/clones/labels';

/**
 * The first F5 in a multi-module workspace without a launch configuration: Devlane offers first
 * to debug the workload that fits the open file's module (orders/ ↔ Deployment orders, not
 * inventory), builds it with the module's build task, saves the choice in launch.json when asked,
 * and a request sent with *Send Request to Clone…* stops on the breakpoint in orders' own source
 * file (found in orders/src/main/java, not at the workspace root) with the request's values.
 */

const shop = path.resolve(__dirname, '../../cluster/samples/shop');
const ordersJava = 'orders/src/main/java/dev/devlane/shop/orders/OrdersApp.java';
const inventoryJava = 'inventory/src/main/java/dev/devlane/shop/inventory/InventoryApp.java';

function deployment(name: string, mainClass: string, env: Record<string, string>): V1Deployment {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name,
              image: `devlane.local/shop-${name}:dev`,
              command: ['java', '-Xmx64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', '/app/classes', mainClass],
              env: Object.entries({ PORT: '8080', ...env }).map(([k, value]) => ({ name: k, value })),
              ports: [{ name: 'http', containerPort: 8080 }],
            },
          ],
        },
      },
    },
  };
}

describe('VS Code: the first F5 without a launch configuration debugs the open module\'s workload in a clone', () => {
  let kc: KubeConfig;
  let ns: TestNamespace | undefined;
  let vs: VsCode | undefined;
  const source = fs.readFileSync(path.join(shop, ordersJava), 'utf8');
  const line = source.split('\n').findIndex((l) => l.includes('if (item.isEmpty())')) + 1;

  before(async () => {
    let kubeconfigPath: string;
    ({ kc, kubeconfigPath } = await testCluster());
    ns = await testNamespace(kc, 'firstf5');
    const namespace = ns.name;
    const apps = kc.makeApiClient(AppsV1Api);
    // Nothing listens at INVENTORY_URL: the order fails fast (502) once the debugger lets it go.
    await apps.createNamespacedDeployment({ namespace, body: deployment('orders', 'dev.devlane.shop.orders.OrdersApp', { INVENTORY_URL: 'http://127.0.0.1:1' }) });
    await apps.createNamespacedDeployment({ namespace, body: deployment('inventory', 'dev.devlane.shop.inventory.InventoryApp', {}) });
    const devlaneYaml = fs.readFileSync(path.join(shop, 'devlane.yaml'), 'utf8').replaceAll('namespace: shop', `namespace: ${namespace}`);
    const tasks = fs.readFileSync(path.join(shop, '.vscode/tasks.json'), 'utf8');
    vs = await VsCode.start('firstf5', {
      settings: { 'devlane.kubeconfig': kubeconfigPath, 'debug.openDebug': 'openOnDebugBreak' },
      workspaceFiles: {
        [ordersJava]: source,
        [inventoryJava]: fs.readFileSync(path.join(shop, inventoryJava), 'utf8'),
        'orders/pom.xml': fs.readFileSync(path.join(shop, 'orders/pom.xml'), 'utf8'),
        'inventory/pom.xml': fs.readFileSync(path.join(shop, 'inventory/pom.xml'), 'utf8'),
        'devlane.yaml': devlaneYaml,
        '.vscode/tasks.json': tasks,
      },
    });
  });

  after(async () => {
    await vs?.close();
    await ns?.dispose();
  });

  async function clonePods(): Promise<V1Pod[]> {
    return (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns!.name, labelSelector: 'devlane.io/clone=true' })).items.filter((p) => !p.metadata?.deletionTimestamp);
  }

  test('F5 offers the module\'s workload first, saves the choice, and a request stops in the module\'s source', async () => {
    try {
      await scenario();
    } catch (e) {
      await vs?.screenshot('firstf5-failure').catch(() => undefined);
      console.error(vs?.devlaneLog().split('\n').slice(-40).join('\n'));
      throw e;
    }
  });

  async function scenario(): Promise<void> {
    const v = vs!;
    const page = v.page;
    assert.equal(fs.existsSync(path.join(v.workspace, '.vscode/launch.json')), false);
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

    // F5 with no launch.json: Devlane's pick, the open module's workload first.
    await page.keyboard.press('F5');
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    const first = rows.filter({ hasText: `Deployment ${ns!.name}/orders` }).first();
    // The candidates come in one go, once the cluster answered.
    await first.waitFor({ timeout: 60_000 });
    const labels = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    const firstCandidate = labels.findIndex((t) => /Deployment /.test(t));
    assert.match(labels[firstCandidate] ?? '', new RegExp(`^orders\\s*Deployment ${ns!.name}/orders · likeliest`), labels.join(' | '));
    assert.ok(labels.findIndex((t) => t.includes(`${ns!.name}/inventory`)) > firstCandidate, 'inventory ranks below orders');
    assert.ok(labels.findIndex((t) => t.includes('Attach to a JVM on this machine')) > firstCandidate, 'attaching comes after the clone');
    await v.screenshot('firstf5-1-pick');
    await page.keyboard.press('Enter');

    const keep = page.locator('.notification-toast', { hasText: `Keep Deployment ${ns!.name}/orders` }).first();
    await keep.waitFor({ timeout: 60_000 });
    await keep.getByRole('button', { name: 'Save in launch.json' }).click();
    const stack = page.locator('.debug-call-stack');
    await stack.locator('.monaco-list-row', { hasText: /Running|Paused/i }).first().waitFor({ timeout: 240_000 });
    assert.ok(fs.existsSync(path.join(v.workspace, 'orders/target/classes/dev/devlane/shop/orders/OrdersApp.class')), 'the module\'s build task ran before the deploy');
    assert.equal(fs.existsSync(path.join(v.workspace, 'inventory/target/classes')), false, 'only the orders module was built');
    const saved = await waitFor('launch.json to keep the choice', () => {
      const file = path.join(v.workspace, '.vscode/launch.json');
      return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { configurations: Record<string, unknown>[] }).configurations[0] : undefined;
    }, { timeoutMs: 30_000, intervalMs: 300 });
    assert.deepEqual(saved, { type: 'devlane', request: 'launch', name: 'Devlane: Debug orders in my clone', clone: { namespace: ns!.name, kind: 'Deployment', name: 'orders' }, preLaunchTask: 'build orders' });
    const clones = await clonePods();
    assert.equal(clones.length, 1);
    const clone = clones[0]!.metadata!.name!;
    assert.equal(clones[0]!.metadata!.annotations?.[cloneAnnotations.cloneOf], 'Deployment/orders');

    // A request from the editor: it stops on the breakpoint, in orders' own file.
    await v.runCommand('Devlane: Send Request to Clone…');
    const input = page.locator('.quick-input-widget input.input');
    await page.locator('.quick-input-widget', { hasText: `Send request to ${clone}:8080` }).waitFor({ timeout: 30_000 });
    await input.fill('/order?item=pear');
    await page.keyboard.press('Enter');
    const top = stack.locator('.monaco-list-row', { hasText: 'handleOrder' }).first();
    await top.waitFor({ timeout: 60_000 });
    assert.match(await top.innerText(), new RegExp(`OrdersApp\\.java\\s*${line}:`));
    await editor.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 15_000 });
    const tab = page.locator('.tabs-container .tab.active');
    assert.match((await tab.getAttribute('title')) ?? (await tab.innerText()), /orders[\\/]src[\\/]main[\\/]java|OrdersApp\.java/);
    const variables = page.locator('.debug-variables');
    await variables.locator('.monaco-list-row', { hasText: 'item' }).filter({ hasText: '"pear"' }).first().waitFor({ timeout: 30_000 });
    await variables.locator('.monaco-list-row', { hasText: 'ex' }).filter({ hasText: 'HttpExchange' }).first().waitFor({ timeout: 30_000 });
    assert.equal(await page.getByText('Could not load source', { exact: false }).count(), 0);
    await v.screenshot('firstf5-2-stopped');

    await v.runCommand('Debug: Continue');
    await page.locator('.notification-toast', { hasText: `${clone} answered 502` }).first().waitFor({ timeout: 60_000 });
    await v.screenshot('firstf5-3-answered');
    await v.runCommand('Debug: Disconnect');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
    assert.deepEqual(await v.errorNotifications(), []);
  }
});
