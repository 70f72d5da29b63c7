import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { clickInline, expandRow, hoverUntilVisible, runContextMenu, VsCode } from './support/codeServer';
import { execInPod, testCluster } from '../support/cluster';
import { waitFor } from '../support/wait';
import { cloneAnnotations, cloneLabels } from '../../extension/core/clones/labels';
import { leaseName, leaseOf, leaseStart } from '../../extension/core/clones/lease';
import { ownerIdentity } from '../../extension/core/clones/spec/identity';
import { appCommandOf, isSupervised } from '../../extension/core/clones/spec/supervisor';
import { httpGetViaPortForward } from '../integration/clones/httpViaPortForward';
import { buildOrdersWithVersion, ordersMainClass } from '../integration/clones/sampleBuild';

/**
 * The clone workflow in a real VS Code, from the *Cluster & Clones* tree: clone shop/orders with
 * the options devlane.yaml saved for it, restart its app, extend it, deploy a jar built here,
 * meet a missing artifact, delete it. Every step is checked through the API as well as on screen.
 */
describe('VS Code: clones from the tree', () => {
  const namespace = 'shop';
  // The deployed jar goes first on the class path (the supervisor links it at /devlane/app).
  const appCommand = ['java', '-Xmx64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', '/devlane/app:/app/classes', ordersMainClass];
  const marker = `clone-vs-${randomBytes(3).toString('hex')}`;
  // Builds the redeploy tests bring to the clone: one by a build task, one found after a save.
  const taskMarker = `${marker}-task`;
  const saveMarker = `${marker}-save`;
  let taskJar: string;
  let saveJar: string;
  let vs: VsCode;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let tmp: string;
  let jar: string;
  let clone = '';
  let yamlWith: (on: 'save' | 'task') => string;

  before(async () => {
    const cluster = await testCluster();
    kc = cluster.kc;
    core = kc.makeApiClient(CoreV1Api);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-clones-vs-'));
    const classes = buildOrdersWithVersion(tmp, marker);
    jar = path.join(tmp, 'orders-1.0.jar');
    execFileSync('jar', ['cf', jar, '-C', classes, '.'], { stdio: 'pipe' });
    const jarOf = (m: string) => {
      const out = path.join(tmp, `${m}.jar`);
      execFileSync('jar', ['cf', out, '-C', buildOrdersWithVersion(path.join(tmp, m), m), '.'], { stdio: 'pipe' });
      return out;
    };
    taskJar = jarOf(taskMarker);
    saveJar = jarOf(saveMarker);
    // The workspace's build task "builds" by putting the task jar where Maven would.
    const tasks = {
      version: '2.0.0',
      tasks: [{ label: 'build orders', type: 'shell', command: `mkdir -p target && cp ${taskJar} target/orders-1.0.jar`, group: { kind: 'build', isDefault: true }, problemMatcher: [] }],
    };
    const yaml = [
      'version: 1',
      'clones:',
      `  - namespace: ${namespace}`,
      '    kind: Deployment',
      '    name: orders',
      `    appCommand: [${appCommand.join(', ')}]`,
      '    env:',
      `      DEVLANE_TEST_RUN: ${marker}`,
      '    deploy:',
      '      readinessPort: 8080',
      '',
    ].join('\n');
    vs = await VsCode.start('clones', {
      workspaceFiles: { 'devlane.yaml': yaml, '.vscode/tasks.json': JSON.stringify(tasks, null, 2), 'src/main/java/Hello.java': 'class Hello {}\n' },
      settings: { 'devlane.kubeconfig': cluster.kubeconfigPath },
    });
    yamlWith = (on) => yaml.replace('      readinessPort: 8080\n', `      readinessPort: 8080\n      on: ${on}\n`);
  });

  /** The clones this run made: they carry its marker in their env (others' clones of shop/orders stay). */
  async function myClones(): Promise<V1Pod[]> {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `${cloneLabels.clone}=true` });
    return pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.spec?.containers.some((c) => c.env?.some((e) => e.name === 'DEVLANE_TEST_RUN' && e.value === marker)));
  }

  after(async () => {
    await vs?.close();
    if (core) {
      for (const p of await myClones().catch(() => [])) {
        await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
        const lease = leaseOf(p);
        if (lease) await kc.makeApiClient(BatchV1Api).deleteNamespacedJob({ name: lease.name, namespace, propagationPolicy: 'Background' }).catch(() => undefined);
      }
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const page = () => vs.page;
  const pane = () => page().locator('.pane', { has: page().locator('.pane-header', { hasText: 'Cluster & Clones' }) });
  const row = (label: string) => pane().locator('.monaco-list-row', { has: page().locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first();
  /** The clone's row under "My Clones" (the same pod also shows, as a pod, under its namespace). */
  const cloneRow = () => pane().locator('.monaco-list-row', { has: page().locator('.label-name', { hasText: new RegExp(`^${clone}$`) }), hasText: 'expires in' }).first();
  const quickInput = () => page().locator('.quick-input-widget');
  const readClone = () => core.readNamespacedPod({ name: clone, namespace });

  /** A toast once it has finished fading in (so a screenshot shows it). */
  async function notification(text: string | RegExp): Promise<string> {
    const toast = page().locator('.notification-toast', { hasText: text }).first();
    await toast.waitFor({ timeout: 60_000 });
    await waitFor('the toast to be opaque', async () => (await toast.evaluate((e) => getComputedStyle(e).opacity).catch(() => '')) === '1' || undefined, { timeoutMs: 10_000, intervalMs: 50 });
    return toast.innerText();
  }

  /** Drags the side bar wider, so tree descriptions (phase, node, expiry) show in full. */
  async function widenSideBar(): Promise<void> {
    const box = await page().locator('.part.sidebar').boundingBox();
    assert.ok(box, 'the side bar is shown');
    const x = box.x + box.width;
    await page().mouse.move(x - 1, box.y + box.height / 2);
    await page().mouse.down();
    await page().mouse.move(720, box.y + box.height / 2, { steps: 8 });
    await page().mouse.up();
  }

  async function appRun(): Promise<number> {
    const r = await execInPod(kc, namespace, clone, 'orders', ['cat', '/devlane/app.run']);
    return Number(r.stdout.trim().split(' ')[0]);
  }

  test('Clone Pod… on the orders Deployment: options with saved defaults, progress, then Running under My Clones', async () => {
    await page().locator('.activitybar .action-item a[aria-label^="Devlane"]').click();
    await pane().locator('.pane-header').getByText('v1.', { exact: false }).waitFor({ timeout: 60_000 });
    await row('My Clones').waitFor({ timeout: 30_000 });
    await widenSideBar();
    await expandRow(row(namespace));
    await row('orders').waitFor({ timeout: 30_000 });
    await clickInline(row('orders'), '.action-label[aria-label^="Clone Pod"]');

    await quickInput().locator('.quick-input-title', { hasText: `Clone Deployment ${namespace}/orders: options` }).waitFor({ timeout: 30_000 });
    const checked = await quickInput()
      .locator('.monaco-list-row[aria-checked="true"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    // The sensible defaults come pre-selected; the first row is keep-alive.
    assert.ok(checked.some((l) => l.startsWith('Keep alive (supervisor)')), `pre-selected: ${checked.join(' | ')}`);
    assert.ok(checked.some((l) => l.startsWith('Remove liveness probe')), `pre-selected: ${checked.join(' | ')}`);
    assert.ok(!checked.some((l) => l.startsWith('Save these options')), 'saving is opt-in');
    await vs.screenshot('clones-1-options');
    await quickInput().locator('input.input').press('Enter');

    await notification('Cloning Deployment shop/orders');
    await vs.screenshot('clones-2-progress');
    const created = await waitFor('the clone pod', async () => {
        const l = await myClones();
        return l.length > 0 ? l : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(created.length, 1);
    clone = created[0]!.metadata!.name!;
    assert.match(clone, /^orders-/);
    await notification(`Clone shop/${clone} is running on devlane-node-`);

    // The tree refreshes by itself and shows the clone Running.
    await waitFor('the clone Running under My Clones', async () => /Running/.test(await cloneRow().innerText().catch(() => '')) || undefined, { timeoutMs: 30_000, intervalMs: 250 });
    assert.match(await cloneRow().innerText(), /Running · devlane-node-\d · \d+m · expires in (2h|1h59m)/);
    await vs.screenshot('clones-3-running');
    // Listed in its namespace too, with the clone actions rather than "Clone Pod…".
    const listed = pane().locator('.monaco-list-row', { has: page().locator('.label-name', { hasText: new RegExp(`^${clone}$`) }), hasNotText: 'expires in' }).first();
    await hoverUntilVisible(listed, '.action-label[aria-label="Deploy to Clone"]');
    assert.equal(await listed.locator('.action-label[aria-label^="Clone Pod"]').count(), 0);

    const pod: V1Pod = await readClone();
    const c = pod.spec!.containers.find((x) => x.name === 'orders')!;
    assert.ok(isSupervised(c.command), `keep-alive supervisor as the main process: ${JSON.stringify(c.command?.slice(0, 2))}`);
    assert.deepEqual(appCommandOf(c.command!), appCommand, 'the app command saved in devlane.yaml');
    assert.equal(c.livenessProbe, undefined, 'liveness probe removed');
    assert.ok(c.env?.some((e) => e.name === 'JAVA_TOOL_OPTIONS' && e.value?.includes('-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5005')), 'JDWP on 5005 (default)');
    assert.ok(c.readinessProbe, 'readiness probe kept (not selected for removal)');
    assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/devlane'));
    const labels = pod.metadata!.labels!;
    const me = ownerIdentity({ kubeUser: kc.getCurrentUser()?.name ?? '', osUser: os.userInfo().username, host: os.hostname() });
    assert.equal(labels[cloneLabels.clone], 'true');
    assert.equal(labels[cloneLabels.owner], me.label);
    assert.equal(labels[cloneLabels.cloneOf], 'orders');
    assert.equal(labels.app, undefined, "kept out of the orders Service's selector");
    const ann = pod.metadata!.annotations!;
    assert.equal(ann[cloneAnnotations.cloneOf], 'Deployment/orders');
    assert.equal(ann[cloneAnnotations.owner], me.display);
    assert.ok(!Number.isNaN(Date.parse(ann[cloneAnnotations.expiresAt] ?? '')));
    assert.equal(JSON.parse(ann[cloneAnnotations.originalLabels] ?? '{}').app, 'orders');
    assert.equal(pod.status?.phase, 'Running');
    assert.equal(await appRun(), 1);
    assert.deepEqual(await vs.errorNotifications(), []);
  });

  test('Restart App in Clone from the context menu starts a new run of the app', async () => {
    assert.ok(clone, 'needs the clone of the first test');
    // The command's status-bar message says it ran (the app's run count follows a moment later).
    const restarting = page().locator('.statusbar-item', { hasText: `restarting the app in ${clone}` });
    await runContextMenu(cloneRow(), 'Restart App in Clone', async () => (await restarting.isVisible()) || (await appRun().catch(() => 1)) >= 2);
    await waitFor('run 2 of the app', async () => (await appRun()) === 2 || undefined, { timeoutMs: 60_000, intervalMs: 500 });
    await waitFor('the restarted app to answer', async () => (await httpGetViaPortForward(kc, namespace, clone, 8080, '/healthz')).status === 200 || undefined, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal((await readClone()).status?.containerStatuses?.[0]?.restartCount, 0, 'the pod itself did not restart');
  });

  test('Extend Clone Expiry moves the expiry shown in the tree and in the pod', async () => {
    assert.ok(clone, 'needs the clone of the first test');
    const before = Date.parse((await readClone()).metadata!.annotations![cloneAnnotations.expiresAt]!);
    await runContextMenu(cloneRow(), 'Extend Clone Expiry', () => quickInput().locator('.quick-input-title', { hasText: `Keep ${clone} for at least` }).isVisible());
    await quickInput().locator('.quick-input-title', { hasText: `Keep ${clone} for at least` }).waitFor({ timeout: 15_000 });
    await quickInput().locator('.monaco-list-row', { hasText: '8 hours' }).first().click();
    await waitFor('the tree to show the new expiry', async () => /expires in (8h|7h5\dm)/.test(await cloneRow().innerText().catch(() => '')) || undefined, { timeoutMs: 30_000, intervalMs: 250 });
    const after = Date.parse((await readClone()).metadata!.annotations![cloneAnnotations.expiresAt]!);
    assert.ok(after - before > 5 * 3600_000, `expiry moved by ${(after - before) / 60_000} min`);
    // The clone's lease (which deletes it if VS Code goes away) moved with it.
    const lease = await kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: leaseName(clone), namespace });
    const leaseEnds = leaseStart(lease)!.getTime() + lease.spec!.activeDeadlineSeconds! * 1000;
    assert.ok(Math.abs(leaseEnds - after) < 5_000, `the lease ends ${(leaseEnds - after) / 1000} s from the expiry`);
    await vs.screenshot('clones-4-extended');
  });

  test('Deploy to Clone from the tree: the clone serves the jar built in the workspace', async () => {
    assert.ok(clone, 'needs the clone of the first test');
    assert.equal((await httpGetViaPortForward(kc, namespace, clone, 8080, '/version')).status, 404, 'the image has no /version');
    fs.mkdirSync(path.join(vs.workspace, 'target'), { recursive: true });
    fs.copyFileSync(jar, path.join(vs.workspace, 'target', 'orders-1.0.jar'));
    await vs.runCommand('Notifications: Clear All Notifications');
    await clickInline(cloneRow(), '.action-label[aria-label="Deploy to Clone"]');
    await notification(`Deploying orders-1.0.jar to ${clone}`);
    await vs.screenshot('clones-5-deploying');
    await page().locator('.statusbar-item', { hasText: `orders-1.0.jar → ${clone}` }).waitFor({ timeout: 120_000 });
    assert.deepEqual(await httpGetViaPortForward(kc, namespace, clone, 8080, '/version'), { status: 200, body: marker });
    await vs.screenshot('clones-6-deployed');
    assert.deepEqual(await vs.errorNotifications(), []);
  });

  test('Deploy to Clone without a build output: a clear error with actions; Open devlane.yaml opens it', async () => {
    assert.ok(clone, 'needs the clone of the first test');
    fs.rmSync(path.join(vs.workspace, 'target'), { recursive: true, force: true });
    await vs.runCommand('Notifications: Clear All Notifications');
    await runContextMenu(cloneRow(), 'Deploy to Clone', () => page().locator('.notification-toast', { hasText: 'No build output to deploy' }).first().isVisible());
    const text = await notification('No build output to deploy');
    const toast = page().locator('.notification-toast', { hasText: 'No build output to deploy' }).first();
    assert.match(text, /target\/\*\.jar/);
    assert.match(text, /mvn package/);
    for (const b of ['Run Build Task', 'Open devlane.yaml', 'Show Log']) await toast.getByRole('button', { name: b }).waitFor({ timeout: 5_000 });
    await vs.screenshot('clones-7-missing-artifact');
    await toast.getByRole('button', { name: 'Open devlane.yaml' }).click();
    await page().locator('.tabs-container .tab', { hasText: 'devlane.yaml' }).waitFor({ timeout: 15_000 });
    // The clone still serves what was deployed before.
    assert.deepEqual(await httpGetViaPortForward(kc, namespace, clone, 8080, '/version'), { status: 200, body: marker });
  });

  /** Waits until the clone serves `body` at /version (a redeploy restarts the app). */
  async function serves(body: string): Promise<void> {
    await waitFor(`the clone to serve ${body}`, async () => {
      const r = await httpGetViaPortForward(kc, namespace, clone, 8080, '/version', 5_000).catch(() => undefined);
      return r?.status === 200 && r.body === body ? true : undefined;
    }, { timeoutMs: 180_000, intervalMs: 1_000 });
  }

  test('deploy.on: task — after the build task ends well, the clone serves what it built, without a Deploy command', async () => {
    assert.ok(clone, 'needs the clone of the first test');
    fs.writeFileSync(path.join(vs.workspace, 'devlane.yaml'), yamlWith('task'));
    await vs.runCommand('Notifications: Clear All Notifications');
    await vs.runCommand('Tasks: Run Build Task');
    await serves(taskMarker);
    await page().locator('.statusbar-item', { hasText: `orders-1.0.jar → ${clone}` }).waitFor({ timeout: 30_000 });
    await vs.screenshot('clones-8-redeployed-after-task');
    assert.deepEqual(await vs.errorNotifications(), []);
  });

  test('deploy.on: save — saving a source file redeploys the newest build output', async () => {
    assert.ok(clone, 'needs the clone of the first test');
    fs.writeFileSync(path.join(vs.workspace, 'devlane.yaml'), yamlWith('save'));
    // The build output changed (as an IDE's builder or a watch would); the save sets it off.
    fs.copyFileSync(saveJar, path.join(vs.workspace, 'target', 'orders-1.0.jar'));
    const runBefore = await appRun();
    await vs.runCommand('Go to File');
    await quickInput().locator('input.input').fill('Hello.java');
    await quickInput().locator('.monaco-list-row', { hasText: 'Hello.java' }).first().click();
    const editor = page().locator('.editor-instance .monaco-editor').first();
    await editor.click();
    await page().keyboard.type('// saved ');
    await page().keyboard.press('Control+S');
    await serves(saveMarker);
    assert.ok((await appRun()) > runBefore, 'the app was restarted with the new build');
    await vs.screenshot('clones-9-redeployed-on-save');
    assert.deepEqual(await vs.errorNotifications(), []);
  });

  test('Delete Clone from the context menu removes it from the tree and the cluster', async () => {
    assert.ok(clone, 'needs the clone of the first test');
    await runContextMenu(cloneRow(), 'Delete Clone', () => page().locator('.monaco-dialog-box').isVisible());
    const dialog = page().locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 15_000 });
    assert.match(await dialog.innerText(), new RegExp(`Delete clone ${namespace}/${clone}\\?`));
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await waitFor(
      'the clone pod to be gone',
      async () => {
        try {
          await readClone();
          return undefined;
        } catch (e) {
          return (e as { code?: number }).code === 404 || undefined;
        }
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await waitFor('its lease to be gone', () => kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: leaseName(clone), namespace }).then(() => undefined, (e: unknown) => (e as { code?: number }).code === 404 || undefined), { timeoutMs: 60_000, intervalMs: 500 });
    await waitFor('the clone to leave the tree', async () => (await pane().locator('.monaco-list-row', { has: page().locator('.label-name', { hasText: new RegExp(`^${clone}$`) }) }).count()) === 0 || undefined, { timeoutMs: 30_000, intervalMs: 250 });
    await vs.screenshot('clones-10-deleted');
    clone = '';
  });
});
