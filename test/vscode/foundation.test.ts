import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VsCode } from './support/codeServer';
import { commands } from '../../extension/ids';

/**
 * What a user sees on first contact, in a real VS Code: Devlane activates without an error, its
 * view container and status-bar item are there, the palette lists its commands, and with no
 * kubeconfig the cluster view says what to do.
 */
describe('VS Code: Devlane without a cluster', () => {
  let vs: VsCode;
  const noKubeconfig = path.join(os.tmpdir(), 'devlane-no-such-kubeconfig');

  before(async () => {
    fs.rmSync(noKubeconfig, { force: true });
    vs = await VsCode.start('no-cluster', {
      workspaceFiles: { 'devlane.yaml': 'version: 1\ncluster:\n  namespace: shop\n  bogus: 1\n' },
      env: { KUBECONFIG: noKubeconfig },
    });
  });
  after(async () => {
    await vs?.close();
  });

  test('the Devlane view container opens and the cluster view explains the missing kubeconfig', async () => {
    const page = vs.page;
    await page.locator('.activitybar .action-item a[aria-label^="Devlane"]').click();
    const clusterPane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Cluster & Clones' }) });
    await clusterPane.waitFor({ timeout: 30_000 });
    await page.locator('.pane-header', { hasText: 'Tunnels' }).waitFor();
    // The welcome content names the cause and offers the fixes.
    await clusterPane.getByText('No kubeconfig found', { exact: false }).waitFor({ timeout: 30_000 });
    await clusterPane.getByRole('button', { name: 'Choose Kubeconfig…' }).waitFor();
    await clusterPane.getByRole('button', { name: 'Start Demo Cluster' }).waitFor();
    await vs.screenshot('foundation-1-views-no-cluster');
    assert.deepEqual(await vs.errorNotifications(), []);
  });

  test('the status bar shows the tunnel item in its off state', async () => {
    const item = vs.page.locator('.statusbar-item', { hasText: 'Devlane: tunnel off' });
    await item.waitFor({ timeout: 15_000 });
    await vs.screenshot('foundation-2-status-bar');
  });

  test('the command palette lists the Devlane commands under the Devlane category', async () => {
    await vs.openPalette('Devlane: ');
    const entries = await vs.paletteEntries();
    await vs.screenshot('foundation-3-palette');
    await vs.page.keyboard.press('Escape');
    const shown = Object.values(commands).filter((c) => c.palette).map((c) => `Devlane: ${c.title}`);
    // The palette list is virtualised: check the first screenful is all Devlane, and search a few by name.
    assert.ok(entries.length >= 8, `palette listed ${entries.length} entries`);
    for (const e of entries) assert.match(e, /^Devlane: /, `unexpected palette entry ${e}`);
    for (const title of ['Devlane: Clone Pod…', 'Devlane: Toggle Tunnel', 'Devlane: Show Log', 'Devlane: Choose Context…']) {
      assert.ok(shown.includes(title), `${title} is not declared in ids.ts`);
      await vs.openPalette(title);
      const found = await vs.paletteEntries();
      await vs.page.keyboard.press('Escape');
      assert.ok(found.some((f) => f.startsWith(title)), `${title} not in palette: ${found.join(' | ')}`);
    }
  });

  test('running "Devlane: Show Log" shows the Devlane log with the activation line', async () => {
    await vs.runCommand('Devlane: Show Log');
    const output = vs.page.locator('.part.panel');
    await output.locator('.monaco-editor').getByText('Devlane', { exact: false }).first().waitFor({ timeout: 20_000 });
    await output.getByText('activated', { exact: false }).first().waitFor({ timeout: 20_000 });
    await vs.screenshot('foundation-4-log');
    assert.deepEqual(await vs.errorNotifications(), []);
  });

  test('devlane.yaml is validated against the schema', async () => {
    await vs.runCommand('View: Toggle Problems');
    const problems = vs.page.locator('.part.panel');
    // Opening the file makes its diagnostics appear; quick open is the user's way to it.
    await vs.page.keyboard.press('Control+P');
    await vs.page.locator('.quick-input-widget input.input').fill('devlane.yaml');
    await vs.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'devlane.yaml' }).first().click();
    await vs.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    await problems.getByText('unknown key "bogus"', { exact: false }).first().waitFor({ timeout: 20_000 });
    await vs.screenshot('foundation-5-devlane-yaml');
  });
});

describe('VS Code: Devlane with a cluster that does not answer', () => {
  let vs: VsCode;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-unreachable-'));
  const kubeconfig = path.join(dir, 'config');

  before(async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    fs.writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: gone\n  context: {cluster: gone, user: u}\ncurrent-context: gone\n');
    vs = await VsCode.start('unreachable', { env: { KUBECONFIG: kubeconfig } });
  });
  after(async () => {
    await vs?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the cluster view says the cluster does not answer and offers retry and other contexts', async () => {
    const page = vs.page;
    await page.locator('.activitybar .action-item a[aria-label^="Devlane"]').click();
    const clusterPane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Cluster & Clones' }) });
    await clusterPane.getByText('does not answer', { exact: false }).waitFor({ timeout: 30_000 });
    await clusterPane.getByRole('button', { name: 'Retry' }).waitFor();
    await clusterPane.getByRole('button', { name: 'Choose Context…' }).waitFor();
    await vs.screenshot('foundation-6-unreachable');
    assert.deepEqual(await vs.errorNotifications(), []);
    // The log names the server and the cause.
    assert.match(vs.devlaneLog(), /127\.0\.0\.1:9 cannot be reached \(ECONNREFUSED\)/);
  });
});
