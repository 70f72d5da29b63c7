import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator } from 'playwright-core';
import { VsCode } from './support/codeServer';
import { waitFor } from '../support/wait';
import { freePort, processesUsing } from '../support/net';
import { createBastion, type Bastion } from '../integration/tunnels/support/bastion';
import { socksConnect } from '../integration/tunnels/support/clients';

/**
 * Tunnels in a real VS Code against a real OpenSSH sshd on a bastion in a network namespace: the
 * status-bar item connects (after the host-key question) and disconnects, its tooltip and the
 * Tunnels view show the live tunnel and a live connection, the tunnel terminal has the proxy
 * variables, and a wrong password ends in a clear error with nothing left running.
 */

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** A bastion with sshd, and a VS Code whose extension host has its own HOME (ssh config and key made there, never the real ~/.ssh) pointed at it. */
interface BastionVsCode {
  readonly b: Bastion;
  readonly vs: VsCode;
  readonly home: string;
  readonly runtimeDir: string;
  readonly socksPort: number;
  close(): Promise<void>;
}

async function startBastionVsCode(name: string, opts: { knownHost: boolean; settings?: Record<string, unknown> }): Promise<BastionVsCode> {
  const b = await createBastion();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-vs-home-'));
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-vs-run-'));
  let vs: VsCode | undefined;
  const close = async () => {
    await vs?.close();
    // close() kills code-server's process group; the detached data plane is not in it.
    for (const pid of processesUsing(runtimeDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await b.close();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  };
  try {
    await b.startSshd();
    const key = path.join(home, '.ssh', 'id_devlane');
    fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
    fs.copyFileSync(b.userKey, key);
    fs.chmodSync(key, 0o600);
    fs.writeFileSync(path.join(home, '.ssh', 'config'), `Host bastion\n  HostName ${b.bastionIp}\n  User root\n  IdentityFile ~/.ssh/id_devlane\n`);
    if (opts.knownHost) fs.writeFileSync(path.join(home, '.ssh', 'known_hosts'), `${b.knownHostsLine}\n`);
    const socksPort = await freePort();
    vs = await VsCode.start(name, {
      // A Devlane workspace: its devlane.yaml activates the extension at startup.
      workspaceFiles: { 'devlane.yaml': 'version: 1\n' },
      settings: {
        'devlane.tunnel.destination': 'bastion',
        'devlane.tunnel.socksPort': socksPort,
        'devlane.tunnel.httpPort': -1,
        // The DOM renderer keeps the terminal's text in the page, where the test reads it back.
        'terminal.integrated.gpuAcceleration': 'off',
        ...opts.settings,
      },
      // Proxy variables of the test's own environment would be kept by the terminal: none here.
      env: { HOME: home, XDG_RUNTIME_DIR: runtimeDir, SSH_AUTH_SOCK: '', KUBECONFIG: path.join(home, 'no-kubeconfig'), ALL_PROXY: undefined, all_proxy: undefined, HTTP_PROXY: undefined, http_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined },
    });
    return { b, vs, home, runtimeDir, socksPort, close };
  } catch (e) {
    await close();
    throw e;
  }
}

describe('VS Code: tunnel through an SSH bastion', () => {
  let b: Bastion | undefined;
  let vs: VsCode | undefined;
  let home = '';
  let runtimeDir = '';
  let socksPort = 0;
  let expectedFingerprint = '';
  const key = () => path.join(home, '.ssh', 'id_devlane');

  let env: BastionVsCode | undefined;

  before(async () => {
    // Outages are notified after 2 s here (60 s by default), so the outage test need not wait a minute.
    env = await startBastionVsCode('tunnels', { knownHost: false, settings: { 'devlane.tunnel.alertAfterSeconds': 2 } });
    ({ b, vs, home, runtimeDir, socksPort } = env);
    expectedFingerprint = `SHA256:${createHash('sha256').update(b.hostKeyBlob).digest('base64').replace(/=+$/, '')}`;
  });

  after(async () => {
    await env?.close();
  });

  const statusItem = (): Locator => vs!.page.locator('.statusbar-item', { hasText: /Devlane: (tunnel|connecting)/ });

  async function waitForItem(text: string, timeoutMs = 60_000): Promise<void> {
    await vs!.page.locator('.statusbar-item', { hasText: text }).waitFor({ timeout: timeoutMs });
  }

  /** The status item's hover, re-opened until it says what is awaited. */
  const tooltipWith = (parts: readonly (string | RegExp)[]): Promise<string> => vs!.hoverText(statusItem(), 'Devlane tunnel', parts);

  async function noDataPlaneLeft(): Promise<void> {
    await waitFor('no data-plane process to be left', () => processesUsing(runtimeDir).length === 0 || undefined, { timeoutMs: 30_000, intervalMs: 200 });
  }

  test('the status-bar item connects after the host-key question, shows the tunnel and its connections, and disconnects', async () => {
    const page = vs!.page;
    const bastion = b!;
    await waitForItem('Devlane: tunnel off');
    assert.deepEqual(processesUsing(runtimeDir), [], 'no data plane runs before the first connect');
    await statusItem().click();

    // Trust on first use: the dialog names the host and shows the fingerprint of the sshd's real key.
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.getByText(`never connected to ${bastion.bastionIp}`, { exact: false }).waitFor({ timeout: 60_000 });
    assert.ok((await dialog.innerText()).includes(expectedFingerprint), `the dialog shows ${expectedFingerprint}`);
    await vs!.screenshot('tunnels-1-host-key');
    await dialog.getByRole('button', { name: 'Trust and Connect' }).click();

    await waitForItem('Devlane: tunnel on (0)');
    assert.ok(fs.readFileSync(path.join(home, '.ssh', 'known_hosts'), 'utf8').includes(bastion.knownHostsLine.split(' ').slice(1).join(' ')), 'the trusted key was added to known_hosts');
    assert.equal(processesUsing(runtimeDir).length, 1, 'one data-plane process runs');
    await tooltipWith(['Devlane tunnel: on', `Target: root@${bastion.bastionIp}:22`, /Round trip: \d+ ms/, `SOCKS5: 127.0.0.1:${socksPort}`, 'Connections: 0 open, 0 total']);
    await vs!.screenshot('tunnels-2-on-tooltip');

    // A connection held open through the tunnel's SOCKS port to the echo server behind the bastion,
    // by a name only the bastion can resolve.
    const { reply, socket } = await socksConnect(socksPort, bastion.cloudName, bastion.echoPort);
    try {
      assert.equal(reply, 0, 'SOCKS CONNECT succeeded');
      const payload = Buffer.alloc(64 * 1024, 'x');
      const echoed = new Promise<void>((resolve, reject) => {
        let got = 0;
        socket.on('data', (d: Buffer) => {
          got += d.length;
          if (got >= payload.length) resolve();
        });
        socket.once('error', reject);
      });
      socket.write(payload);
      await echoed;

      await waitForItem('Devlane: tunnel on (1)', 30_000);
      await tooltipWith(['Connections: 1 open, 1 total', '↑ 64 KiB ↓ 64 KiB', /Round trip: \d+ ms/]);
      await vs!.screenshot('tunnels-3-connection-tooltip');

      await page.locator('.activitybar .action-item a[aria-label^="Devlane"]').click();
      const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Tunnels' }) });
      const tree = pane.locator('.monaco-list-row');
      await tree.filter({ hasText: `bastion (${bastion.bastionIp})` }).waitFor({ timeout: 30_000 });
      await tree.filter({ hasText: 'SOCKS5' }).filter({ hasText: `127.0.0.1:${socksPort}` }).waitFor();
      const connections = tree.filter({ hasText: 'Connections' });
      await connections.filter({ hasText: '1 open · 1 total' }).waitFor({ timeout: 30_000 });
      await connections.click();
      await tree.filter({ hasText: `${bastion.cloudName}:${bastion.echoPort}` }).filter({ hasText: 'socks5' }).waitFor({ timeout: 30_000 });
      // A wider side bar, so the screenshot shows the whole connection row (target, protocol, bytes).
      const bar = await page.locator('.part.sidebar').boundingBox();
      if (bar) {
        await page.mouse.move(bar.x + bar.width + 1, bar.y + bar.height / 2);
        await page.mouse.down();
        await page.mouse.move(bar.x + bar.width + 260, bar.y + bar.height / 2, { steps: 5 });
        await page.mouse.up();
      }
      await vs!.screenshot('tunnels-4-view-live-connection');
    } finally {
      socket.destroy();
    }

    await statusItem().click();
    await waitForItem('Devlane: tunnel off');
    await noDataPlaneLeft();
    assert.ok(await refused(socksPort), 'the SOCKS port is closed');
    await page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Tunnels' }) }).getByText('A tunnel lets the app', { exact: false }).waitFor({ timeout: 30_000 });
    await vs!.screenshot('tunnels-5-off');
    assert.deepEqual(await vs!.errorNotifications(), []);
  });

  test('"Open Terminal with Tunnel" opens a terminal whose shell has the proxy variables', async () => {
    const page = vs!.page;
    await statusItem().click();
    // The host key is known now: no question, straight to on.
    await waitForItem('Devlane: tunnel on');
    await vs!.runCommand('Devlane: Open Terminal with Tunnel');
    const terminal = page.locator('.part.panel .terminal-wrapper');
    await terminal.locator('.xterm-rows').waitFor({ timeout: 30_000 });
    await terminal.click();
    await page.keyboard.type('echo "proxy is [$ALL_PROXY] no-proxy is [$NO_PROXY]"');
    await page.keyboard.press('Enter');
    const rows = terminal.locator('.xterm-rows');
    await rows.getByText(`proxy is [socks5h://127.0.0.1:${socksPort}]`, { exact: false }).waitFor({ timeout: 30_000 });
    const text = await rows.innerText();
    assert.ok(text.includes('no-proxy is [localhost,127.0.0.1,::1,.localhost]'), `NO_PROXY keeps loopback local: ${text}`);
    await vs!.screenshot('tunnels-6-terminal');

    await statusItem().click();
    await waitForItem('Devlane: tunnel off');
    await noDataPlaneLeft();
  });

  test('an outage longer than devlane.tunnel.alertAfterSeconds is notified with what to do, and so is the tunnel coming back', async () => {
    const page = vs!.page;
    const bastion = b!;
    await statusItem().click();
    await waitForItem('Devlane: tunnel on');
    await bastion.stopSshd();
    await waitForItem('Devlane: tunnel degraded', 60_000);
    const down = page.locator('.notification-toast', { hasText: 'has been down for' }).first();
    await down.waitFor({ timeout: 30_000 });
    assert.match(await down.innerText(), new RegExp(`tunnel to root@${bastion.bastionIp.replace(/\./g, '\\.')}:22 has been down for \\d+ s`));
    await down.getByRole('button', { name: 'Show Tunnel Log' }).waitFor();
    await down.getByRole('button', { name: 'Disconnect' }).waitFor();
    await page.mouse.move(700, 300);
    await vs!.screenshot('tunnels-6b-outage-notified');

    await bastion.startSshd();
    await waitForItem('Devlane: tunnel on', 60_000);
    await page.locator('.notification-toast', { hasText: `tunnel to root@${bastion.bastionIp}:22 is back after` }).first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await vs!.errorNotifications(), [], 'an outage that ends is not an error');
    await vs!.runCommand('Notifications: Clear All Notifications');
    await statusItem().click();
    await waitForItem('Devlane: tunnel off');
    await noDataPlaneLeft();
  });

  test('devlane.yaml\'s tunnels: Connect offers them, the chosen one connects with its reverse forward, and Expose as Service refuses with the way to the agent', async () => {
    const page = vs!.page;
    const bastion = b!;
    const app = http.createServer((req, res) => res.end(`laptop says hi ${req.url}`));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as net.AddressInfo).port;
    const remotePort = 20_000 + crypto.randomInt(20_000);
    const yamlFile = path.join(vs!.workspace, 'devlane.yaml');
    try {
      // Two team tunnels checked in; the bastion one uses the alias from ~/.ssh/config and forwards back to the app.
      fs.writeFileSync(
        yamlFile,
        [
          'version: 1',
          'tunnels:',
          '  - name: team-bastion',
          '    transport: ssh',
          '    ssh: {host: bastion}',
          `    socksPort: ${socksPort}`,
          '    reverse:',
          `      - {remotePort: ${remotePort}, localPort: ${appPort}}`,
          '  - name: team-agent',
          '    transport: agent',
          '',
        ].join('\n'),
      );
      await statusItem().click();
      const picker = page.locator('.quick-input-widget', { hasText: 'Connect tunnel (from devlane.yaml)' });
      await picker.waitFor({ timeout: 30_000 });
      await picker.locator('.monaco-list-row', { hasText: 'team-agent' }).waitFor();
      await vs!.screenshot('tunnels-7-declared-pick');
      await picker.locator('.monaco-list-row', { hasText: 'team-bastion' }).click();
      await waitForItem('Devlane: tunnel on');
      const rows = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Tunnels' }) }).locator('.monaco-list-row');
      await rows.filter({ hasText: `team-bastion: bastion (${bastion.bastionIp})` }).waitFor({ timeout: 30_000 });
      // The view lists what devlane.yaml declares for the tunnel, and how it went.
      await rows.filter({ hasText: 'devlane.yaml: team-bastion' }).filter({ hasText: '1 of 1 set up' }).waitFor({ timeout: 30_000 });
      await rows.filter({ hasText: `reverse forward 127.0.0.1:${remotePort} → localhost:${appPort}` }).filter({ hasText: 'set up' }).waitFor({ timeout: 30_000 });
      // The declared forward listens on the bastion's loopback and reaches the app here.
      const out = await waitFor('the declared reverse forward on the bastion', () => bastion.execInBastion(['curl', '-sf', '--max-time', '20', `http://127.0.0.1:${remotePort}/declared`]).catch(() => undefined), { timeoutMs: 60_000, intervalMs: 500 });
      assert.equal(out, 'laptop says hi /declared');

      await vs!.runCommand('Devlane: Expose Local Port as Service…');
      const toast = page.locator('.notification-toast', { hasText: 'can only send traffic to a pod' }).first();
      await toast.waitFor({ timeout: 30_000 });
      await toast.getByRole('button', { name: 'Connect through the In-Cluster Agent' }).waitFor({ timeout: 10_000 });
      // Refused before any question: no input box was opened.
      assert.equal(await page.locator('.quick-input-widget', { hasText: 'Expose local port as Service' }).isVisible(), false);
      // Away from the status item, so its hover does not cover the notification in the screenshot.
      await page.mouse.move(700, 300);
      await vs!.screenshot('tunnels-8-expose-needs-agent');

      await statusItem().click();
      await waitForItem('Devlane: tunnel off');
      await noDataPlaneLeft();
    } finally {
      fs.writeFileSync(yamlFile, 'version: 1\n');
      app.close();
    }
  });

  test('a wrong password gives a clear error, the item shows the error and nothing is left running', async () => {
    const page = vs!.page;
    const bastion = b!;
    // Without the key file, password is the only way in.
    fs.rmSync(key());
    await statusItem().click();
    const input = page.locator('.quick-input-widget input.input');
    for (const attempt of ['first', 'retry']) {
      const title = page.locator('.quick-input-widget', { hasText: `Password for root@${bastion.bastionIp}:22` });
      await title.waitFor({ timeout: 60_000 });
      if (attempt === 'retry') await title.getByText('the previous one was refused', { exact: false }).waitFor();
      await input.fill(`wrong-${bastion.password}`);
      if (attempt === 'first') await vs!.screenshot('tunnels-9-password-prompt');
      await input.press('Enter');
      await page.locator('.quick-input-widget', { hasText: 'Keep the password?' }).waitFor({ timeout: 15_000 });
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Only this time' }).click();
    }

    await waitForItem('Devlane: tunnel error');
    const error = await waitFor('the error notification', async () => (await vs!.errorNotifications()).find((t) => t.includes('refused the login')), { timeoutMs: 30_000 });
    assert.ok(error.includes('tried password'), error);
    assert.ok(error.includes('Check the user name, key or password'), error);
    await tooltipWith(['Devlane tunnel: error', 'refused the login']);
    await vs!.screenshot('tunnels-10-wrong-password');
    await noDataPlaneLeft();
    assert.ok(await refused(socksPort), 'the SOCKS port is closed');
  });

  test('a tunnel left by a crashed VS Code ends itself after the grace period', async () => {
    fs.copyFileSync(b!.userKey, key());
    fs.chmodSync(key(), 0o600);
    await statusItem().click();
    await waitForItem('Devlane: tunnel on');
    assert.equal(processesUsing(runtimeDir).length, 1, 'one data-plane process runs');
    assert.equal(await refused(socksPort), false, 'the SOCKS port is open');
    // code-server and its extension host are killed outright: no deactivate runs.
    const gone = vs!;
    vs = undefined;
    await gone.close();
    await waitFor('the orphaned data plane to exit after its grace period', () => processesUsing(runtimeDir).length === 0 || undefined, { timeoutMs: 120_000, intervalMs: 500 });
    assert.ok(await refused(socksPort), 'the SOCKS port is closed');
  });
});

describe('VS Code: tunnel with proxy authentication', () => {
  let b: Bastion | undefined;
  let vs: VsCode | undefined;
  let runtimeDir = '';
  let socksPort = 0;
  let env: BastionVsCode | undefined;

  before(async () => {
    // The host key is known: this test is about the proxies, not trust on first use.
    env = await startBastionVsCode('tunnels-auth', { knownHost: true, settings: { 'devlane.tunnel.proxyAuth': true } });
    ({ b, vs, runtimeDir, socksPort } = env);
  });

  after(async () => {
    await env?.close();
  });

  test('the tooltip and the Tunnels view say authentication is on, and the tunnel terminal\'s ALL_PROXY carries credentials that work', async () => {
    const page = vs!.page;
    const bastion = b!;
    const statusItem = page.locator('.statusbar-item', { hasText: /Devlane: (tunnel|connecting)/ });
    await page.locator('.statusbar-item', { hasText: 'Devlane: tunnel off' }).waitFor({ timeout: 60_000 });
    await statusItem.click();
    await page.locator('.statusbar-item', { hasText: 'Devlane: tunnel on' }).waitFor({ timeout: 60_000 });
    await vs!.hoverText(statusItem, 'Devlane tunnel', ['Devlane tunnel: on', `SOCKS5: 127.0.0.1:${socksPort} · authentication on`]);
    await page.locator('.activitybar .action-item a[aria-label^="Devlane"]').click();
    const rows = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Tunnels' }) }).locator('.monaco-list-row');
    await rows.filter({ hasText: 'Authentication on' }).waitFor({ timeout: 30_000 });

    await vs!.runCommand('Devlane: Open Terminal with Tunnel');
    const terminal = page.locator('.part.panel .terminal-wrapper');
    await terminal.locator('.xterm-rows').waitFor({ timeout: 30_000 });
    await terminal.click();
    // The credentials are not echoed (the page is screenshotted): only that ALL_PROXY has a user part,
    // what curl gets with it, and what it gets from the same proxy without credentials.
    const url = `http://${bastion.cloudName}:${bastion.cloudPort}/`;
    await page.keyboard.type(`echo "userinfo=[$(printf %s "$ALL_PROXY" | tr -cd @)]"; curl -s --max-time 20 -o /dev/null -w "with=%{http_code}\\n" ${url}; curl -s --max-time 20 -o /dev/null -x socks5h://127.0.0.1:${socksPort} -w "without=%{http_code}\\n" ${url}`);
    await page.keyboard.press('Enter');
    const xterm = terminal.locator('.xterm-rows');
    // The typed line holds "without=%{http_code}"; the answer has three digits there.
    const text = await waitFor('both curls to answer', async () => {
      const t = await xterm.innerText();
      return /without=\d{3}/.test(t) ? t : undefined;
    }, { timeoutMs: 60_000, intervalMs: 300 });
    assert.ok(text.includes('userinfo=[@]'), `ALL_PROXY has credentials: ${text}`);
    assert.ok(text.includes('with=200'), `curl with the terminal's proxy variables reached the server behind the bastion: ${text}`);
    assert.ok(text.includes('without=000'), `the proxy refused curl without credentials: ${text}`);
    await vs!.screenshot('tunnels-auth-terminal');

    await statusItem.click();
    await page.locator('.statusbar-item', { hasText: 'Devlane: tunnel off' }).waitFor({ timeout: 60_000 });
    await waitFor('no data-plane process to be left', () => processesUsing(runtimeDir).length === 0 || undefined, { timeoutMs: 30_000, intervalMs: 200 });
    assert.deepEqual(await vs!.errorNotifications(), []);
  });
});
