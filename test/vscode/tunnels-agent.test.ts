import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Locator } from 'playwright-core';
import { VsCode } from './support/codeServer';
import { testCluster, testNamespace, waitForReadyPods, type TestCluster, type TestNamespace } from '../support/cluster';
import { waitFor } from '../support/wait';
import { freePort, processesUsing } from '../support/net';
import { agentNames, agentObjects, startCallerPod, waitForAgentGone, type CallerPod } from '../integration/tunnels/support/agentCluster';
import { socksGet } from '../integration/tunnels/support/clients';

/**
 * The in-cluster agent transport in a real VS Code against the test cluster: the status-bar item
 * connects through "In-cluster agent (no bastion)", SOCKS reaches a cluster Service, "Expose Local
 * Port as Service…" and "Add Reverse Forward…" let a pod call a server on this machine, the tooltip
 * and the Tunnels view show it all, and Disconnect deletes every object the agent made.
 */

/** A copy of the test cluster's kubeconfig whose current context points at `namespace` (where the agent goes). */
function kubeconfigFor(source: string, namespace: string, file: string): void {
  const kc = new KubeConfig();
  kc.loadFromFile(source);
  const current = kc.getCurrentContext();
  kc.loadFromOptions({
    clusters: kc.getClusters(),
    users: kc.getUsers(),
    contexts: kc.getContexts().map((c) => (c.name === current ? { ...c, namespace } : c)),
    currentContext: current,
  });
  fs.writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
}

describe('VS Code: tunnel through the in-cluster agent', () => {
  let cluster: TestCluster;
  let ns: TestNamespace | undefined;
  let caller: CallerPod;
  let vs: VsCode | undefined;
  let app: http.Server | undefined;
  let appPort = 0;
  let socksPort = 0;
  let home = '';
  let runtimeDir = '';
  const token = crypto.randomBytes(8).toString('hex');

  before(async () => {
    cluster = await testCluster();
    // The sample shop's inventory is what the tunnel's SOCKS side reaches.
    await waitForReadyPods(cluster.kc, 'shop', 'app=inventory', 1, 180_000);
    ns = await testNamespace(cluster.kc, 'tunnel-agent-vs');
    caller = await startCallerPod(cluster.kc, ns.name);
    // The local app a pod will call: answers with a token only this run knows, and the path.
    app = http.createServer((req, res) => res.end(`laptop ${token} ${req.url}`));
    await new Promise<void>((r) => app!.listen(0, '127.0.0.1', r));
    appPort = (app.address() as net.AddressInfo).port;
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-vs-agent-home-'));
    runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-vs-agent-run-'));
    fs.chmodSync(runtimeDir, 0o700);
    const kubeconfig = path.join(home, 'kubeconfig.yaml');
    kubeconfigFor(cluster.kubeconfigPath, ns.name, kubeconfig);
    socksPort = await freePort();
    vs = await VsCode.start('tunnels-agent', {
      workspaceFiles: { 'devlane.yaml': 'version: 1\n' },
      settings: { 'devlane.kubeconfig': kubeconfig, 'devlane.tunnel.socksPort': socksPort, 'devlane.tunnel.httpPort': -1 },
      // No ~/.ssh/config and no ssh-agent: the destination picker offers only "Other host…" and the agent.
      env: { HOME: home, XDG_RUNTIME_DIR: runtimeDir, SSH_AUTH_SOCK: '', KUBECONFIG: kubeconfig },
    });
  });

  after(async () => {
    const steps: (() => Promise<unknown> | void)[] = [
      () => vs?.close(),
      // close() kills code-server's process group; the detached data plane is not in it.
      () => {
        for (const pid of runtimeDir ? processesUsing(runtimeDir) : []) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      },
      () => new Promise<void>((r) => (app ? app.close(() => r()) : r())),
      // The namespace takes the agent's Job, pod, ConfigMap and Services with it if the test failed midway.
      () => ns?.dispose(),
      () => home && fs.rmSync(home, { recursive: true, force: true }),
      () => runtimeDir && fs.rmSync(runtimeDir, { recursive: true, force: true }),
    ];
    // Every step runs even when an earlier one fails.
    const errors: unknown[] = [];
    for (const step of steps) await Promise.resolve().then(step).catch((e: unknown) => errors.push(e));
    if (errors.length) throw errors[0];
  });

  const statusItem = (): Locator => vs!.page.locator('.statusbar-item', { hasText: /Devlane: (tunnel|connecting)/ });

  async function waitForItem(text: string, timeoutMs = 60_000): Promise<void> {
    await vs!.page.locator('.statusbar-item', { hasText: text }).waitFor({ timeout: timeoutMs });
  }

  /** The status item's hover, re-opened until it says what is awaited. */
  const tooltipWith = (parts: readonly string[]): Promise<string> => vs!.hoverText(statusItem(), 'Devlane tunnel', parts);

  /** Answers a step of a multi-step input box once its title shows. */
  async function answer(title: string, value: string): Promise<void> {
    const page = vs!.page;
    await page.locator('.quick-input-widget', { hasText: title }).waitFor({ timeout: 30_000 });
    const input = page.locator('.quick-input-widget input.input');
    await input.fill(value);
    await input.press('Enter');
  }

  test('connects from the status bar, exposes a local server as a Service and as an agent listener a pod calls, lists them, and disconnects leaving nothing', async () => {
    const page = vs!.page;
    const namespace = ns!.name;
    await waitForItem('Devlane: tunnel off');
    assert.deepEqual(processesUsing(runtimeDir), [], 'no data plane runs before the first connect');
    assert.deepEqual(await agentNames(cluster.kc, namespace), [], 'no agent runs before the first connect');

    // Connect: the status-bar item asks where through; the agent is one of the choices.
    await statusItem().click();
    const agentChoice = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'In-cluster agent (no bastion)' });
    await agentChoice.waitFor({ timeout: 30_000 });
    await vs!.screenshot('tunnels-agent-1-destination');
    await agentChoice.click();
    // Creating the Job and waiting for its pod on a loaded machine takes a while.
    await waitForItem('Devlane: tunnel on', 180_000);
    assert.equal(processesUsing(runtimeDir).length, 1, 'one data-plane process runs');
    const agents = await agentNames(cluster.kc, namespace);
    assert.equal(agents.length, 1, `one agent Job in ${namespace}: ${agents.join(', ')}`);
    const agent = agents[0]!;
    const made = (await agentObjects(cluster.kc, namespace, agent)).filter((o) => !o.startsWith('pod/')).sort();
    assert.deepEqual(made, [`configmap/${agent}`, `job/${agent}`]);

    // Outbound: the tunnel's SOCKS port reaches a cluster Service by its cluster name, through the agent.
    const health = await socksGet(socksPort, 'inventory.shop.svc.cluster.local', 8080, '/healthz');
    assert.match(health, /^HTTP\/1\.1 200/);
    await tooltipWith(['Devlane tunnel: on', `Target: agent in ${namespace}`, `SOCKS5: 127.0.0.1:${socksPort}`, 'Connections: 0 open, 1 total']);
    await vs!.screenshot('tunnels-agent-2-on-tooltip');
    await page.mouse.move(700, 300);

    // Inbound through a Service: the pod calls the Service's cluster name and gets this machine's server.
    await vs!.runCommand('Devlane: Expose Local Port as Service…');
    await answer('Expose local port as Service (1/3)', String(appPort));
    await answer('Expose local port as Service (2/3)', 'laptop-app');
    await answer('Expose local port as Service (3/3)', '80');
    const host = `laptop-app.${namespace}.svc.cluster.local`;
    await page.locator('.notification-toast', { hasText: `Pods now reach localhost:${appPort} at ${host}:80` }).waitFor({ timeout: 90_000 });
    const svc = await cluster.kc.makeApiClient(CoreV1Api).readNamespacedService({ name: 'laptop-app', namespace });
    assert.equal(svc.metadata?.labels?.['devlane.dev/agent'], agent, 'the Service belongs to the agent');
    const viaService = await waitFor('the Service to reach the local server', () => caller.curl(`http://${host}:80/svc`), { timeoutMs: 90_000, intervalMs: 1_000 });
    assert.equal(viaService, `laptop ${token} /svc`);
    await vs!.screenshot('tunnels-agent-3-exposed');

    // Inbound through a listener in the agent pod, at the address the dialog proposes (0.0.0.0, same port).
    await vs!.runCommand('Devlane: Add Reverse Forward…');
    await answer('Reverse forward (1/2)', String(appPort));
    await page.locator('.quick-input-widget', { hasText: 'Reverse forward (2/2)' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.quick-input-widget input.input').inputValue(), `0.0.0.0:${appPort}`, 'other pods can reach the proposed bind address');
    await page.locator('.quick-input-widget input.input').press('Enter');
    const agentPod = (await cluster.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: `devlane.dev/agent=${agent}` })).items[0];
    const podIp = agentPod?.status?.podIP;
    assert.ok(podIp, 'the agent pod has an IP');
    await page.locator('.notification-toast', { hasText: `Agent pod ${podIp}:${appPort} now reaches localhost:${appPort}` }).waitFor({ timeout: 90_000 });
    assert.equal(await caller.curl(`http://${podIp}:${appPort}/direct`), `laptop ${token} /direct`);

    // The Tunnels view lists the agent tunnel and both forwards where pods reach them.
    await page.locator('.activitybar .action-item a[aria-label^="Devlane"]').click();
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Tunnels' }) });
    const tree = pane.locator('.monaco-list-row');
    await tree.filter({ hasText: `agent in ${namespace}` }).waitFor({ timeout: 30_000 });
    await tree.filter({ hasText: 'SOCKS5' }).filter({ hasText: `127.0.0.1:${socksPort}` }).waitFor({ timeout: 30_000 });
    await tree.filter({ hasText: `${host}:80` }).filter({ hasText: `127.0.0.1:${appPort}` }).waitFor({ timeout: 30_000 });
    await tree.filter({ hasText: `${podIp}:${appPort}` }).filter({ hasText: `127.0.0.1:${appPort}` }).waitFor({ timeout: 30_000 });
    // A wider side bar, so the screenshot shows the whole Service name.
    const bar = await page.locator('.part.sidebar').boundingBox();
    if (bar) {
      await page.mouse.move(bar.x + bar.width + 1, bar.y + bar.height / 2);
      await page.mouse.down();
      await page.mouse.move(bar.x + bar.width + 420, bar.y + bar.height / 2, { steps: 5 });
      await page.mouse.up();
    }
    await vs!.screenshot('tunnels-agent-4-view-forwards');

    // Disconnect: the agent's Job, pod, ConfigMap and Service all go; the data plane exits.
    await vs!.runCommand('Devlane: Disconnect Tunnel');
    await waitForItem('Devlane: tunnel off');
    await waitForAgentGone(cluster.kc, namespace, agent, 90_000);
    await waitFor('no data-plane process to be left', () => processesUsing(runtimeDir).length === 0 || undefined, { timeoutMs: 30_000, intervalMs: 200 });
    await pane.getByText('A tunnel lets the app', { exact: false }).waitFor({ timeout: 30_000 });
    await vs!.screenshot('tunnels-agent-5-off');
    assert.deepEqual(await vs!.errorNotifications(), []);
  });
});
