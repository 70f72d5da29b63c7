import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { VsCode } from './support/codeServer';
import { execInPod, forwardToPod, testCluster, testNamespace, type TestNamespace } from '../support/cluster';
import { waitFor } from '../support/wait';
import { httpGet as get } from '../integration/debug/support/orders';

/**
 * F5 in a real VS Code: the sample orders project opened, a breakpoint set in the editor, a
 * `launch` configuration whose preLaunchTask compiles the project; F5 creates the clone, deploys
 * the build and attaches; a request to the clone stops the editor on the line, the Variables view
 * shows the request's values, step over moves on, continue lets the request finish. Stop restarts
 * the app in the clone; the next F5 reuses the clone.
 */

const sample = path.resolve(__dirname, '../../cluster/samples/shop/orders');
const javaRel = 'src/main/java/dev/devlane/shop/orders/OrdersApp.java';
const mainClass = 'dev.devlane.shop.orders.OrdersApp';


describe('VS Code: F5 with a launch configuration debugs the app in a clone', () => {
  let kc: KubeConfig;
  let ns: TestNamespace | undefined;
  let vs: VsCode | undefined;
  const closers: (() => Promise<void>)[] = [];
  const source = fs.readFileSync(path.join(sample, javaRel), 'utf8');
  const line = source.split('\n').findIndex((l) => l.includes('if (item.isEmpty())')) + 1;

  before(async () => {
    let kubeconfigPath: string;
    ({ kc, kubeconfigPath } = await testCluster());
    ns = await testNamespace(kc, 'dbgvs');
    const namespace = ns.name;
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'orders', labels: { app: 'orders' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'orders' } },
          template: {
            metadata: { labels: { app: 'orders' } },
            spec: {
              terminationGracePeriodSeconds: 2,
              containers: [
                {
                  name: 'orders',
                  image: 'devlane.local/shop-orders:dev',
                  command: ['java', '-Xmx64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', '/app/classes', mainClass],
                  // Nothing listens there: the order fails fast (502) once the debugger lets it go.
                  env: [{ name: 'PORT', value: '8080' }, { name: 'INVENTORY_URL', value: 'http://127.0.0.1:1' }],
                  ports: [{ name: 'http', containerPort: 8080 }],
                  livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
                },
              ],
            },
          },
        },
      },
    });
    const launch = {
      version: '0.2.0',
      configurations: [
        { type: 'devlane', request: 'launch', name: 'Debug orders in my clone', clone: { namespace, kind: 'Deployment', name: 'orders' }, preLaunchTask: 'build orders' },
        // No workload: F5 asks for it (namespace → workload → container) and offers to keep the answer.
        { type: 'devlane', request: 'launch', name: 'Debug a picked workload', preLaunchTask: 'build orders' },
      ],
    };
    // The build VS Code runs before each launch: javac with debug info, no network needed.
    const tasks = {
      version: '2.0.0',
      tasks: [{ label: 'build orders', type: 'process', command: 'javac', args: ['-g', '--release', '17', '-d', 'target/classes', javaRel], problemMatcher: [] }],
    };
    const devlaneYaml = [
      'clones:',
      `  - namespace: ${namespace}`,
      '    kind: Deployment',
      '    name: orders',
      `    appCommand: [java, -Xmx64m, -XX:+UseSerialGC, -cp, "/devlane/app:/app/classes", ${mainClass}]`,
      '    deploy: {artifact: target/classes, target: /devlane/app, readinessPort: 8080}',
      '',
    ].join('\n');
    vs = await VsCode.start('debug', {
      settings: { 'devlane.kubeconfig': kubeconfigPath, 'extensions.ignoreRecommendations': true, 'debug.openDebug': 'openOnDebugBreak' },
      workspaceFiles: {
        [javaRel]: source,
        'pom.xml': fs.readFileSync(path.join(sample, 'pom.xml'), 'utf8'),
        'devlane.yaml': devlaneYaml,
        '.vscode/launch.json': JSON.stringify(launch, null, 2),
        '.vscode/tasks.json': JSON.stringify(tasks, null, 2),
        // A machine-overridable setting: in code-server's remote window only the workspace's copy counts.
        '.vscode/settings.json': JSON.stringify({ 'devlane.kubeconfig': kubeconfigPath }),
      },
    });
  });

  after(async () => {
    for (const c of closers.splice(0)) await c().catch(() => undefined);
    await vs?.close();
    await ns?.dispose();
  });

  async function clonePods(): Promise<V1Pod[]> {
    return (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns!.name, labelSelector: 'devlane.io/clone=true' })).items.filter((p) => !p.metadata?.deletionTimestamp);
  }

  test('breakpoint, F5, stop on a request, variables, step over, continue, stop restarts, F5 reuses', async () => {
    try {
      await scenario();
    } catch (e) {
      // What the screen and the log showed when it went wrong, for whoever reads the failure.
      await vs?.screenshot('debug-failure').catch(() => undefined);
      console.error(vs?.devlaneLog().split('\n').slice(-40).join('\n'));
      for (const p of await clonePods().catch(() => [])) {
        const log = await kc.makeApiClient(CoreV1Api).readNamespacedPodLog({ namespace: ns!.name, name: p.metadata!.name!, tailLines: 40 }).catch(() => '');
        console.error(`--- log of ${p.metadata!.name}:\n${log}`);
      }
      throw e;
    }
  });

  async function scenario(): Promise<void> {
    const v = vs!;
    const page = v.page;
    // The breakpoint, set in the editor: open the file, go to the line, toggle.
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
    await v.screenshot('debug-1-breakpoint');

    // F5: the preLaunchTask builds, the clone is created, the build deployed, the debugger attached.
    assert.equal(fs.existsSync(path.join(v.workspace, 'target/classes')), false);
    await v.runCommand('Debug: Start Debugging');
    await page.locator('.notification-toast', { hasText: 'in your clone' }).first().waitFor({ timeout: 60_000 });
    await v.screenshot('debug-2-launching');
    const stack = page.locator('.debug-call-stack');
    await stack.locator('.monaco-list-row', { hasText: /Running|Paused/i }).first().waitFor({ timeout: 240_000 });
    assert.ok(fs.existsSync(path.join(v.workspace, 'target/classes/dev/devlane/shop/orders/OrdersApp.class')), 'the preLaunchTask built the project');
    const clones = await clonePods();
    assert.equal(clones.length, 1);
    const clone = clones[0]!.metadata!.name!;
    assert.equal(clones[0]!.spec!.containers[0]!.livenessProbe, undefined);
    assert.match(v.devlaneLog(), new RegExp(`created clone ${ns!.name}/${clone}, deployed everything, JDWP on port 5005`));

    // A request to the clone stops the editor on the line.
    const fwd = await forwardToPod(kc, ns!.name, clone, 8080);
    closers.push(() => fwd.close());
    const response = get(fwd.port, '/order?item=pear');
    const top = stack.locator('.monaco-list-row', { hasText: 'handleOrder' }).first();
    await top.waitFor({ timeout: 60_000 });
    assert.match(await top.innerText(), new RegExp(`OrdersApp\\.java\\s*${line}:`));
    await editor.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 15_000 });
    await editor.locator('.codicon-debug-stackframe').first().waitFor({ timeout: 15_000 });
    // The Variables view: the request's item and the clone's pod name.
    const variables = page.locator('.debug-variables');
    const item = variables.locator('.monaco-list-row', { hasText: 'item' }).filter({ hasText: '"pear"' }).first();
    await item.waitFor({ timeout: 30_000 });
    await variables.locator('.monaco-list-row', { hasText: 'pod' }).filter({ hasText: `"${clone}"` }).first().waitFor({ timeout: 30_000 });
    await v.screenshot('debug-3-stopped');

    await v.runCommand('Debug: Step Over');
    // VS Code puts the cursor on the top frame's line when it stops: the status bar tells where.
    const cursor = page.locator('.statusbar-item', { hasText: /^Ln \d+, Col \d+/ }).first();
    await waitFor('the top frame to move past the breakpoint line', async () => {
      const at = /^Ln (\d+),/.exec((await cursor.innerText()).trim());
      return at && Number(at[1]) > line ? Number(at[1]) : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    await editor.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 15_000 });
    await v.screenshot('debug-4-stepped');

    await v.runCommand('Debug: Continue');
    const r = await response;
    assert.equal(r.status, 502);
    assert.ok(r.body.includes(clone), r.body);
    await v.screenshot('debug-5-continued');

    // Stop (terminate) restarts the app in the clone: its supervisor counts a new run.
    const runOf = async () => Number((await execInPod(kc, ns!.name, clone, 'orders', ['cat', '/devlane/app.run'])).stdout.trim().split(' ')[0]);
    const runBefore = await runOf();
    await v.runCommand('Debug: Stop');
    await waitFor('the app in the clone to restart after Stop', async () => (await runOf()) > runBefore, { timeoutMs: 60_000, intervalMs: 500 });
    await waitFor('the restarted app to serve again', async () => (await get(fwd.port, '/healthz', 5_000)).status === 200, { timeoutMs: 60_000, intervalMs: 500 });

    // The next F5 reuses the clone and sends only what changed (nothing).
    await v.runCommand('Debug: Start Debugging');
    await waitFor('the second launch to reuse the clone', () => new RegExp(`reused clone ${ns!.name}/${clone}, deployed 0 changed file`).test(v.devlaneLog()), { timeoutMs: 180_000, intervalMs: 500 });
    await stack.locator('.monaco-list-row', { hasText: /Running|Paused/i }).first().waitFor({ timeout: 120_000 });
    assert.equal((await clonePods()).length, 1);
    await v.screenshot('debug-6-reused');

    // Hot code replace: a changed method body, rebuilt by the build task, runs at once in the clone.
    await editor.getByText('handleOrder', { exact: false }).first().click();
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input.input').fill(`:${line}`);
    await page.keyboard.press('Enter');
    await v.runCommand('Debug: Toggle Breakpoint');
    await waitFor('the breakpoint to be gone', async () => (await editor.locator('.codicon-debug-breakpoint').count()) === 0, { timeoutMs: 15_000 });
    const javaFile = path.join(v.workspace, javaRel);
    fs.writeFileSync(javaFile, source.replace('"{\\"error\\":\\"inventory unreachable\\"', '"{\\"error\\":\\"inventory unreachable (hot)\\"'));
    assert.ok(fs.readFileSync(javaFile, 'utf8').includes('unreachable (hot)'), 'the sample still has the 502 reply the test changes');
    await v.runCommand('Tasks: Run Task');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'build orders' }).first().click({ timeout: 15_000 });
    await waitFor('the rebuilt class to be hot-replaced', () => v.devlaneLog().includes(`hot-replaced ${mainClass} in`), { timeoutMs: 60_000, intervalMs: 300 });
    const hot = await get(fwd.port, '/order?item=kiwi');
    assert.equal(hot.status, 502);
    assert.ok(hot.body.includes('inventory unreachable (hot)'), hot.body);
    await v.screenshot('debug-7-hot-replaced');

    // "Devlane: Hot Replace Classes" by hand: a change compiled outside VS Code's tasks goes in on command.
    fs.writeFileSync(javaFile, source.replace('"{\\"error\\":\\"inventory unreachable\\"', '"{\\"error\\":\\"inventory unreachable (hot 2)\\"'));
    const javac = spawnSync('javac', ['-g', '--release', '17', '-d', 'target/classes', javaRel], { cwd: v.workspace, encoding: 'utf8' });
    assert.equal(javac.status, 0, javac.stderr);
    await v.runCommand('Devlane: Hot Replace Classes');
    await waitFor('the command to hot-replace the class', () => v.devlaneLog().includes(`hot-replaced ${mainClass} in Debug orders in my clone (command)`), { timeoutMs: 60_000, intervalMs: 300 });
    const hot2 = await get(fwd.port, '/order?item=fig');
    assert.ok(hot2.body.includes('inventory unreachable (hot 2)'), hot2.body);

    // Disconnect (Alt on the toolbar's Stop) leaves the app running: no restart.
    const runAttached = await runOf();
    // The toolbar shows the alternative only while the pointer is over the button.
    await page.locator('.debug-toolbar .codicon-debug-stop').first().hover({ timeout: 15_000 });
    await page.keyboard.down('Alt');
    try {
      await page.locator('.debug-toolbar .codicon-debug-disconnect').first().click({ timeout: 15_000 });
    } finally {
      await page.keyboard.up('Alt');
    }
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
    assert.equal((await get(fwd.port, '/healthz')).status, 200);
    assert.equal(await runOf(), runAttached, 'Disconnect must not restart the app');
    assert.doesNotMatch(v.devlaneLog().split('reused clone')[1] ?? '', /restarted the app/);

    // A launch configuration without a workload: picked from the cluster, then kept in launch.json.
    await v.runCommand('Debug: Select and Start Debugging');
    const pick = (text: string) => page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first().click({ timeout: 60_000 });
    await pick('Debug a picked workload');
    await pick('Another workload in the cluster');
    await page.locator('.quick-input-widget input.input').fill(ns!.name);
    await pick(ns!.name);
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'orders' }).filter({ hasText: 'Deployment' }).first().waitFor({ timeout: 60_000 });
    await v.screenshot('debug-8-workload-pick');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'orders' }).filter({ hasText: 'Deployment' }).first().click();
    const keep = page.locator('.notification-toast', { hasText: `Keep Deployment ${ns!.name}/orders` }).first();
    await keep.waitFor({ timeout: 60_000 });
    await keep.getByRole('button', { name: 'Save in launch.json' }).click();
    await waitFor('the picked launch to reuse the clone', () => v.devlaneLog().split(`reused clone ${ns!.name}/${clone}`).length > 2, { timeoutMs: 180_000, intervalMs: 500 });
    await stack.locator('.monaco-list-row', { hasText: /Running|Paused/i }).first().waitFor({ timeout: 120_000 });
    const saved = await waitFor('launch.json to keep the picked workload', () => {
      const text = fs.readFileSync(path.join(v.workspace, '.vscode/launch.json'), 'utf8');
      const configs = (JSON.parse(text) as { configurations: { name: string; clone?: unknown }[] }).configurations;
      return configs.find((x) => x.name === 'Devlane: Debug orders in my clone');
    }, { timeoutMs: 30_000, intervalMs: 300 });
    assert.deepEqual(saved.clone, { namespace: ns!.name, kind: 'Deployment', name: 'orders' });
    await v.screenshot('debug-9-picked-and-saved');
    await v.runCommand('Debug: Disconnect');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
    assert.equal((await clonePods()).length, 1);
    assert.deepEqual(await v.errorNotifications(), []);
  }
});
