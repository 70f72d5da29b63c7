import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { FrameLocator } from 'playwright-core';
import { VsCode } from './support/codeServer';
import { execInPod, testCluster, testNamespace, waitForPodReady, waitForReadyPods, type TestNamespace } from '../support/cluster';
import { waitFor } from '../support/wait';
import { createClone, type CloneEnv } from '../../extension/core/clones/lifecycle';
import { ServerClock } from '../../extension/core/clones/serverClock';
import { ownerIdentity } from '../../extension/core/clones/spec/identity';
import { resolveOptions } from '../../extension/core/clones/spec/options';
import { buildClonePod } from '../../extension/core/clones/spec/build';
import { cloneLabels } from '../../extension/core/clones/labels';
import { readAuditLog } from '../../extension/core/observe/audit';
import { silentLogger } from '../../extension/core/log';

/**
 * The observe features in a real VS Code against the test cluster: an over-sized clone's events
 * explained, a clone's log followed live, a capture in a clone showing the request the test sent,
 * and audited shells (a clone's at once, another pod's only after confirmation).
 */

// A web app that logs each request it serves: the log view's live lines come from requests the
// test sends after the view opened.
const webApp = `require('node:http').createServer((q, s) => { console.log('served ' + q.url); s.writeHead(200, { 'content-type': 'text/plain' }); s.end('hello ' + q.url); }).listen(8080, () => console.log('listening on 8080'));`;

describe('VS Code: events, logs, capture and shell of a clone', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns: TestNamespace | undefined;
  let vs: VsCode | undefined;
  let tmp: string | undefined;
  let clone = '';
  let cloneIp = '';
  let bigClone = '';
  const plain = 'plain';

  before(async () => {
    kc = (await testCluster()).kc;
    core = kc.makeApiClient(CoreV1Api);
    ns = await testNamespace(kc, 'obsvs');
    const namespace = ns.name;
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [{ name: 'web', image: 'node', command: ['node', '-e', webApp], ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
            },
          },
        },
      },
    });
    // Not a clone: opening a shell in it must be confirmed first. It also sends the test's requests.
    await core.createNamespacedPod({ namespace, body: { metadata: { name: plain }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'box', image: 'busybox', command: ['sleep', '3600'] }] } } });
    await waitForReadyPods(kc, namespace, 'app=web', 1, 120_000);
    await waitForPodReady(kc, namespace, plain, 120_000);

    const env: CloneEnv = { kc, owner: ownerIdentity({ kubeUser: 'vs-observe', osUser: 'tester', host: 'ci' }), clock: new ServerClock(kc), log: silentLogger };
    const noJvm = { jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } };
    const created = await createClone(env, { kind: 'Deployment', namespace, name: 'web' }, resolveOptions({ startCommand: 'original', ...noJvm }), { startTimeoutMs: 120_000 });
    clone = created.info.ref.name;
    cloneIp = (await waitForPodReady(kc, namespace, clone, 120_000)).status?.podIP ?? '';
    assert.ok(cloneIp, 'the clone has an IP');

    // createClone rolls back a clone that cannot be scheduled, so the over-sized one is built by
    // the same spec builder from the same Deployment and created as is: it stays Pending.
    const template = (await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'web', namespace })).spec!.template;
    const built = buildClonePod({
      source: { kind: 'Deployment', namespace, name: 'web', metadata: template.metadata, spec: template.spec! },
      options: resolveOptions({ startCommand: 'original', resources: { requests: { cpu: '64' } }, ...noJvm }),
      owner: env.owner,
      expiresAt: new Date(Date.now() + 3_600_000),
      selectors: [],
      nameSuffix: 'big',
    });
    const big: V1Pod = await core.createNamespacedPod({ namespace, body: built.pod });
    bigClone = big.metadata!.name!;
    assert.equal(big.metadata?.labels?.[cloneLabels.clone], 'true');

    // The extension sees the test namespace as the kubeconfig's current namespace, so the pod
    // pickers list these pods.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-observe-vs-'));
    const cfg = new KubeConfig();
    cfg.loadFromOptions({ clusters: kc.clusters, users: kc.users, contexts: kc.contexts.map((c) => ({ ...c, namespace })), currentContext: kc.currentContext });
    const kubeconfig = path.join(tmp, 'kubeconfig');
    fs.writeFileSync(kubeconfig, cfg.exportConfig(), { mode: 0o600 });
    // The DOM renderer keeps the terminal's text in the page, where the test can read it.
    // A devlane.yaml activates Devlane with the workspace, as in a project that uses it.
    vs = await VsCode.start('observe', { workspaceFiles: { 'devlane.yaml': 'version: 1\n' }, settings: { 'devlane.kubeconfig': kubeconfig, 'terminal.integrated.gpuAcceleration': 'off', 'editor.wordWrap': 'on' } });
    await vs.page.locator('.statusbar-item', { hasText: 'Devlane: tunnel' }).waitFor({ timeout: 60_000 });
  });

  after(async () => {
    await vs?.close();
    await ns?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const page = () => vs!.page;
  const quickInput = () => page().locator('.quick-input-widget');

  /** Runs a palette command that asks for a pod, and picks `pod`. */
  async function runOnPod(title: string, pickTitle: string, pod: string): Promise<void> {
    await vs!.runCommand(title);
    await quickInput().locator('.quick-input-title', { hasText: pickTitle }).waitFor({ timeout: 30_000 });
    await quickInput().locator('input.input').fill(pod);
    await quickInput().locator('.monaco-list-row', { has: page().locator('.label-name', { hasText: new RegExp(`^${pod}$`) }) }).first().click();
  }

  /** The content of the (single) open webview: code-server nests the page in two iframes. */
  function webview(): FrameLocator {
    return page().frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  }

  async function closeEditors(): Promise<void> {
    await vs!.runCommand('View: Close All Editors');
    await waitFor('the webviews to be gone', async () => (await page().locator('iframe.webview').count()) === 0 || undefined, { timeoutMs: 20_000 });
  }

  /** Sends GET `urlPath` to the clone from another pod of the cluster. */
  async function request(urlPath: string): Promise<void> {
    const r = await execInPod(kc, ns!.name, plain, 'box', ['curl', '-s', '--max-time', '20', `http://${cloneIp}:8080${urlPath}`]);
    assert.equal(r.stdout, `hello ${urlPath}`, `${r.status} ${r.message ?? ''} ${r.stderr}`);
  }

  test('an over-sized clone: the Events view explains the scheduler\'s refusal in plain words', async (t) => {
    // Each view is closed after its test, also when it fails, so the next one finds a single webview.
    t.after(closeEditors);
    await runOnPod('Devlane: Show Pod Events', 'Show Events of', bigClone);
    const view = webview();
    const failed = view.locator('.event.warning[data-reason="FailedScheduling"]').first();
    await failed.locator('.explain').waitFor({ timeout: 90_000 });
    const text = await failed.innerText();
    assert.match(text, /Insufficient cpu/);
    assert.match(text, /Not enough cpu on \d+ nodes?: the pod requests 64 cpu\. The node with the most room, devlane-node-\d, has 4 allocatable/);
    assert.match(text, /Lower resources\.requests\.cpu of container "web" \(now 64\) to at most/);
    assert.match(await view.locator('.toolbar').innerText(), new RegExp(`Pod ${ns!.name}/${bigClone}`));
    await vs!.screenshot('observe-1-events-oversized-clone');
    assert.deepEqual(await vs!.errorNotifications(), []);
  });

  test('a running clone: the Logs view follows lines written after it opened', async (t) => {
    t.after(closeEditors);
    await runOnPod('Devlane: Show Pod Logs', 'Show Logs of', clone);
    const view = webview();
    const lines = view.locator('.viewport .line');
    await lines.filter({ hasText: 'listening on 8080' }).first().waitFor({ timeout: 60_000 });
    const marker = `/live-${randomBytes(4).toString('hex')}`;
    assert.equal(await lines.filter({ hasText: marker }).count(), 0);
    await request(marker);
    await lines.filter({ hasText: `served ${marker}` }).first().waitFor({ timeout: 60_000 });
    await vs!.screenshot('observe-2-logs-live');
    assert.deepEqual(await vs!.errorNotifications(), []);
  });

  test('a capture started on a clone shows the HTTP request the test sent', async (t) => {
    t.after(closeEditors);
    await runOnPod('Devlane: Capture Packets…', 'Capture Packets in', clone);
    const view = webview();
    await view.locator('vscode-textfield.filter').waitFor({ timeout: 30_000 });
    const status = view.locator('.toolbar .status');
    await status.filter({ hasText: 'idle' }).waitFor({ timeout: 30_000 });
    await view.locator('vscode-textfield.filter input').fill('tcp port 8080');
    await view.getByRole('button', { name: 'Start', exact: true }).click();
    await status.filter({ hasText: /running/ }).waitFor({ timeout: 60_000 });
    const marker = `/captured-${randomBytes(4).toString('hex')}`;
    // tcpdump may still be opening its socket when the status says running: send again when a
    // request has not shown up within a while.
    const row = view.locator('.viewport .row', { hasText: `GET ${marker} HTTP/1.1` }).first();
    let sentAt = 0;
    await waitFor(
      'the request row',
      async () => {
        if (Date.now() - sentAt > 10_000) {
          sentAt = Date.now();
          await request(marker);
        }
        return (await row.count()) > 0 || undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const cells = await row.locator('span').allInnerTexts();
    assert.equal(cells[3], `${cloneIp}:8080`, `destination column: ${cells.join(' | ')}`);
    assert.equal(cells[4], 'TCP');
    assert.equal(cells[7], `HTTP: GET ${marker} HTTP/1.1`);
    await vs!.screenshot('observe-3-capture-request');
    // The request line is shown whole, not cut to an ellipsis by the column.
    const summary = row.locator('span.summary');
    assert.ok(await summary.evaluate((e) => e.scrollWidth <= e.clientWidth), 'the summary column shows the whole request line');
    // The packet count follows the rows as they come.
    const shown = Number((await status.innerText()).match(/· (\d+) packets/)?.[1]);
    assert.ok(shown >= 1, `status: ${await status.innerText()}`);
    await view.getByRole('button', { name: 'Stop', exact: true }).click();
    await status.filter({ hasText: 'stopped' }).waitFor({ timeout: 30_000 });
    // The pcap tcpdump wrote beside its text output, summarised: the request and its answer.
    await view.getByRole('button', { name: 'HTTP Summary', exact: true }).click();
    const exchange = view.locator('.http-table tr', { hasText: `GET ${marker}` }).first();
    await exchange.waitFor({ timeout: 60_000 });
    const columns = await exchange.locator('td').allInnerTexts();
    assert.equal(columns[2], `${cloneIp}:8080`, 'the server, named once when the Host header says the same');
    assert.equal(columns[4]?.trim(), '200 OK');
    assert.equal(columns[6], `0 / ${`hello ${marker}`.length}`);
    await vs!.screenshot('observe-3b-capture-http-summary');
    assert.deepEqual(await vs!.errorNotifications(), []);
  });

  const auditFile = () => path.join(vs!.workspace, '.devlane', 'audit.log');

  /** Types a command into the active terminal and waits for `expect` in its output. */
  async function typeInTerminal(command: string, expect: string): Promise<void> {
    const term = page().locator('.terminal-wrapper.active .xterm');
    await term.waitFor({ timeout: 30_000 });
    // xterm's DOM renderer draws spaces as no-break spaces.
    const text = async () => (await term.locator('.xterm-rows').innerText()).replace(/\u00a0/g, ' ');
    // The prompt means the shell in the pod is reading input.
    const shows = async (what: string, probe: (t: string) => boolean) => {
      try {
        await waitFor(what, async () => probe(await text()) || undefined, { timeoutMs: 60_000, intervalMs: 250 });
      } catch (e) {
        throw new Error(`${(e as Error).message}; the terminal shows:\n${await text().catch(() => '(nothing)')}`);
      }
    };
    await shows('the shell prompt', (t) => /[#$]\s*$/m.test(t));
    await term.click();
    await page().keyboard.type(command);
    await page().keyboard.press('Enter');
    await shows(`"${expect}" in the terminal`, (t) => t.includes(expect));
  }

  test('a shell in a clone runs a command and the audit log holds it', async (t) => {
    await runOnPod('Devlane: Open Shell in Pod', 'Open Shell in', clone);
    await page().locator('.single-terminal-tab, .terminal-tabs-entry', { hasText: `${clone}/web` }).first().waitFor({ timeout: 30_000 });
    await typeInTerminal('echo shell-$((6*7)) in $(hostname)', `shell-42 in ${clone}`);
    await vs!.screenshot('observe-4-shell-clone');
    const records = await waitFor('the command in the audit log', () => {
      const r = readAuditLog(auditFile()).filter((x) => x.pod === clone);
      return r.some((x) => x.event === 'command') ? r : undefined;
    });
    const open = records[0];
    assert.ok(open?.event === 'open' && open.clone === true && open.confirmed === false, JSON.stringify(open));
    const command = records.find((x) => x.event === 'command');
    assert.ok(command?.event === 'command');
    assert.equal(command.command, 'echo shell-$((6*7)) in $(hostname)');
    assert.equal(command.namespace, ns!.name);
    assert.equal(command.container, 'web');
    assert.ok(command.user && command.context && !Number.isNaN(Date.parse(command.time)));
    assert.deepEqual(await vs!.errorNotifications(), []);

    // The audit log as the user finds it in the workspace.
    t.after(closeEditors);
    await page().keyboard.press('Control+P');
    await quickInput().locator('input.input').fill('.devlane/audit.log');
    await quickInput().locator('.monaco-list-row', { hasText: 'audit.log' }).first().click();
    const editor = page().locator('.editor-instance .monaco-editor .view-lines');
    await waitFor('the command in the audit log editor', async () => (await editor.innerText()).replace(/\u00a0/g, ' ').includes('"command":"echo shell-$((6*7)) in $(hostname)"') || undefined, { timeoutMs: 30_000, intervalMs: 250 });
    await vs!.screenshot('observe-4b-audit-log');
  });

  test('a shell in a pod that is not a clone asks first: declined opens nothing, confirmed is recorded', async () => {
    const dialog = page().locator('.monaco-dialog-box');
    await runOnPod('Devlane: Open Shell in Pod', 'Open Shell in', plain);
    await dialog.getByText('is not one of your clones', { exact: false }).waitFor({ timeout: 30_000 });
    await vs!.screenshot('observe-5-shell-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 15_000 });

    await runOnPod('Devlane: Open Shell in Pod', 'Open Shell in', plain);
    await dialog.getByRole('button', { name: 'Open Shell' }).click();
    await page().locator('.terminal-tabs-entry', { hasText: `${plain}/box` }).first().waitFor({ timeout: 30_000 });
    await typeInTerminal('echo confirmed-$((2+3))', 'confirmed-5');
    await vs!.screenshot('observe-6-shell-confirmed');
    // One terminal in this pod: the declined attempt opened none.
    const tabs = await page().locator('.terminal-tabs-entry').allInnerTexts();
    assert.equal(tabs.filter((t) => t.trim() === `${plain}/box`).length, 1, tabs.join(' | '));
    const records = await waitFor('the command in the audit log', () => {
      const r = readAuditLog(auditFile()).filter((x) => x.pod === plain);
      return r.some((x) => x.event === 'command') ? r : undefined;
    });
    const open = records[0];
    assert.ok(open?.event === 'open' && open.clone === false && open.confirmed === true, JSON.stringify(open));
    assert.equal(records.filter((x) => x.event === 'open').length, 1, 'only the confirmed shell was opened');
    assert.deepEqual(
      records.filter((x) => x.event === 'command').map((x) => (x.event === 'command' ? x.command : '')),
      ['echo confirmed-$((2+3))'],
    );
  });
});
