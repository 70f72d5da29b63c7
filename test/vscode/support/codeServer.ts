import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { waitFor } from '../../support/wait';
import { freePort } from '../../support/net';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const artifactsDir = path.join(repoRoot, 'artifacts', 'vscode');

/** The VSIX built by `npm run package` (the test orchestrator builds it first). */
export function builtVsix(): string {
  const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
  const vsix = path.join(repoRoot, 'artifacts', `devlane-${version}.vsix`);
  if (!fs.existsSync(vsix)) throw new Error(`${vsix} is missing: run \`npm run package\` first`);
  return vsix;
}

/** The code-server executable (installed by scripts/setup.mjs through shared/tools). */
export function codeServerBin(): string {
  const fromEnv = process.env.DEVLANE_CODE_SERVER;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  const out = spawnSync('bash', [path.join(repoRoot, '..', 'shared', 'tools', 'install-code-server.sh')], { encoding: 'utf8' });
  const bin = out.stdout.trim().split('\n').pop() ?? '';
  if (out.status !== 0 || !fs.existsSync(bin)) throw new Error(`code-server is not installed: ${out.stderr}`);
  return bin;
}

/**
 * Hovers a tree row until its inline action `selector` shows. A row re-rendered by a view refresh
 * (a watch event) loses the hover, so a single hover is not enough.
 */
export async function hoverUntilVisible(row: Locator, selector: string, timeoutMs = 30_000): Promise<Locator> {
  const action = row.locator(selector);
  await waitFor(`inline action ${selector}`, async () => {
    await row.hover({ timeout: 2_000 }).catch(() => undefined);
    return (await action.isVisible().catch(() => false)) || undefined;
  }, { timeoutMs, intervalMs: 300 });
  return action;
}

/** Clicks a tree row's inline action, hovering again if a refresh hid it meanwhile. */
export async function clickInline(row: Locator, selector: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`click on inline action ${selector}`, async () => {
    const action = await hoverUntilVisible(row, selector, timeoutMs);
    return (await action.click({ timeout: 2_000 }).then(() => true, () => false)) || undefined;
  }, { timeoutMs, intervalMs: 300 });
}

/** Expands a collapsed tree row (a plain click on an expanded one would collapse it again). */
export async function expandRow(row: Locator, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    'a tree row to expand',
    async () => {
      if ((await row.getAttribute('aria-expanded', { timeout: 2_000 })) === 'true') return true;
      // Clicking the twistie toggles only this row; a refresh that re-rendered it meanwhile is retried.
      await row.locator('.monaco-tl-twistie').click({ timeout: 2_000 });
      return (await row.getAttribute('aria-expanded', { timeout: 2_000 })) === 'true' || undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/**
 * Runs the entry `item` of `row`'s context menu with the keyboard: the menu takes focus when it
 * opens, arrows move through its entries (separators skipped) and Enter runs the focused one. A
 * mouse click on an entry is ignored while the menu is still opening, which made clicks flaky on a
 * loaded machine. `ran` (if given) tells whether the command took effect, so a retry never runs it twice.
 */
export async function runContextMenu(row: Locator, item: string, ran?: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const page = row.page();
  const menu = page.locator('.context-view .monaco-menu').last();
  let seen: string[] = [];
  let attempt = 0;
  await waitFor(
    `the context menu entry "${item}" to run`,
    async () => {
      if (ran && (await ran())) return true;
      // A menu left open by a failed attempt is closed first.
      if (attempt++ > 0) await page.keyboard.press('Escape');
      // A tree item's hover left open by an earlier step can sit over the row and take the click.
      await page.mouse.move(1000, 700);
      await row.click({ button: 'right', timeout: 5_000 });
      await menu.locator('.action-item').first().waitFor({ timeout: 10_000 });
      seen = await menu.locator('.action-item:not(.disabled) .action-label').allInnerTexts();
      const count = seen.filter((t) => t.trim() !== '').length;
      if (!seen.some((t) => t.includes(item))) return undefined;
      for (let i = 0; i <= count; i++) {
        await page.keyboard.press('ArrowDown');
        const focused = (await menu.locator('.action-item.focused').innerText({ timeout: 2_000 }).catch(() => '')).trim();
        if (!focused.includes(item)) continue;
        await page.keyboard.press('Enter');
        await menu.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
        if (!ran) return (await menu.isHidden()) || undefined;
        return (await waitFor('the command to take effect', async () => (await ran()) || undefined, { timeoutMs: 10_000, intervalMs: 200 }).catch(() => false)) || undefined;
      }
      return undefined;
    },
    { timeoutMs, intervalMs: 500 },
  ).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (the menu last showed: ${seen.map((t) => JSON.stringify(t.trim())).join(', ') || 'nothing'})`);
  });
}

export interface VsCodeOptions {
  /** Files to create in the workspace (relative path → content). */
  readonly workspaceFiles?: Record<string, string>;
  /** Extra settings (written to both the User and the Machine settings). */
  readonly settings?: Record<string, unknown>;
  /** Extra environment for the extension host (e.g. KUBECONFIG). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A real VS Code (code-server 1.100.3) with Devlane's VSIX installed into an isolated extensions
 * folder, opened on a fresh workspace with workspace trust off, driven in Debian's Chromium.
 */
export class VsCode {
  private constructor(
    readonly page: Page,
    readonly workspace: string,
    readonly userDataDir: string,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    private readonly dirs: string[],
  ) {}

  static async start(name: string, opts: VsCodeOptions = {}): Promise<VsCode> {
    const bin = codeServerBin();
    const base = fs.mkdtempSync(path.join(os.tmpdir(), `devlane-vscode-${name}-`));
    const workspace = path.join(base, 'workspace');
    const userData = path.join(base, 'user-data');
    const extensions = path.join(base, 'extensions');
    const browserData = path.join(base, 'chromium');
    for (const d of [workspace, path.join(userData, 'User'), extensions, browserData]) fs.mkdirSync(d, { recursive: true });
    for (const [rel, content] of Object.entries(opts.workspaceFiles ?? {})) {
      fs.mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
      fs.writeFileSync(path.join(workspace, rel), content);
    }
    // code-server's window is a remote one: machine-scoped settings (devlane.kubeconfig) from the
    // User file are ignored once the remote configuration loads, so the test's settings also go
    // where a code-server user puts them, the Machine (remote) settings.
    fs.mkdirSync(path.join(userData, 'Machine'), { recursive: true });
    fs.writeFileSync(path.join(userData, 'Machine', 'settings.json'), JSON.stringify({ ...opts.settings }));
    fs.writeFileSync(
      path.join(userData, 'User', 'settings.json'),
      JSON.stringify({
        'security.workspace.trust.enabled': false,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'update.mode': 'none',
        'workbench.enableExperiments': false,
        ...opts.settings,
      }),
    );
    const install = spawnSync(bin, ['--extensions-dir', extensions, '--user-data-dir', userData, '--install-extension', builtVsix()], { encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`installing the VSIX failed: ${install.stdout}${install.stderr}`);

    const port = await freePort();
    const server = spawn(bin, ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--extensions-dir', extensions, '--user-data-dir', userData, workspace], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const serverLog = fs.createWriteStream(path.join(base, 'code-server.log'));
    server.stdout?.pipe(serverLog);
    server.stderr?.pipe(serverLog);
    const kill = () => {
      try {
        if (server.pid) process.kill(-server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    try {
      await waitFor('code-server to listen', () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok), { timeoutMs: 60_000, intervalMs: 250 });
      return await VsCode.open(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`, { workspace, userDataDir: userData, server, dirs: [base] });
    } catch (e) {
      kill();
      throw e;
    }
  }

  /**
   * Chromium on a VS Code that already serves `url` (code-server started by someone else, e.g.
   * `npm start`); closing kills `server`'s process group and removes `dirs`.
   */
  static async open(url: string, o: { workspace: string; userDataDir: string; server: ChildProcess; dirs: string[] }): Promise<VsCode> {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    });
    try {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      await page.goto(url);
      await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
      await page.locator('.statusbar').waitFor({ timeout: 60_000 });
      return new VsCode(page, o.workspace, o.userDataDir, browser, o.server, o.dirs);
    } catch (e) {
      await browser.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Text of the hover `target` opens (the hover that contains `hoverHas`), re-opened until it holds
   * every part: a hover's content is fixed while it is shown.
   */
  async hoverText(target: Locator, hoverHas: string, parts: readonly (string | RegExp)[], timeoutMs = 60_000): Promise<string> {
    return waitFor(
      `the hover "${hoverHas}" to show ${parts.join(', ')}`,
      async () => {
        await this.page.mouse.move(700, 300);
        await target.hover();
        const hover = this.page.locator('.monaco-hover, .workbench-hover', { hasText: hoverHas }).first();
        await hover.waitFor({ timeout: 10_000 });
        const text = await hover.innerText();
        return parts.every((p) => (typeof p === 'string' ? text.includes(p) : p.test(text))) ? text : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
  }

  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(artifactsDir, { recursive: true });
    const file = path.join(artifactsDir, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Opens the command palette with the given text typed after ">". */
  async openPalette(text: string): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(`>${text}`);
  }

  /** The labels the palette currently lists. */
  async paletteEntries(): Promise<string[]> {
    const rows = this.page.locator('.quick-input-widget .monaco-list-row');
    await rows.first().waitFor({ timeout: 15_000 });
    return rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent ?? ''));
  }

  /** Runs a command through the palette by its full title ("Devlane: Show Log"). */
  async runCommand(title: string): Promise<void> {
    await this.openPalette(title);
    const row = this.page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ timeout: 15_000 });
    await row.click();
  }

  /** Texts of the error notifications shown so far. */
  async errorNotifications(): Promise<string[]> {
    return this.page.locator('.notification-toast, .notifications-center .notification-list-item').filter({ has: this.page.locator('.codicon-error') }).allInnerTexts();
  }

  /** Lines of the Devlane LogOutputChannel as VS Code wrote them to disk. */
  devlaneLog(): string {
    const logs = path.join(this.userDataDir, 'logs');
    if (!fs.existsSync(logs)) return '';
    const files = fs.readdirSync(logs, { recursive: true }).map(String).filter((f) => f.endsWith('Devlane.log'));
    return files.map((f) => fs.readFileSync(path.join(logs, f), 'utf8')).join('\n');
  }

  private closing: Promise<void> | undefined;

  /** Kills code-server and Chromium and removes their folders; a second call waits for the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.browser.close().catch(() => undefined);
      try {
        if (this.server.pid) process.kill(-this.server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      // Killed by a signal, a process has signalCode set and exitCode null.
      const exited = () => this.server.exitCode !== null || this.server.signalCode !== null;
      await new Promise<void>((resolve) => (exited() ? resolve() : this.server.once('exit', () => resolve())));
      for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
    })();
    return this.closing;
  }
}
