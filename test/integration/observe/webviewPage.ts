/**
 * Opens an observe webview bundle in headless Chromium the way VS Code does (same HTML and CSP),
 * with a stub acquireVsCodeApi that records what the page posts and keeps its state. Used by the
 * webview tests and the logs benchmark.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { webviewHtml } from '../../../webview/protocol/html';

const root = path.resolve(__dirname, '..', '..', '..');

export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface WebviewHarness {
  readonly browser: Browser;
  readonly dir: string;
  /** A page for webview/<name>, optionally with a state as getState() returns it after a reload. */
  open(name: string, opts?: { state?: unknown; stubScript?: string }): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function webviewHarness(names: readonly string[]): Promise<WebviewHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-webview-'));
  await Promise.all(
    names.map((n) =>
      esbuild.build({ entryPoints: [path.join(root, 'webview', n, 'main.ts')], bundle: true, platform: 'browser', target: 'es2022', format: 'iife', minify: true, outfile: path.join(dir, `${n}.js`), loader: { '.css': 'text' }, logLevel: 'warning' }),
    ),
  );
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: chromiumArgs });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let count = 0;
  return {
    browser,
    dir,
    async open(name, opts = {}) {
      const nonce = `n${Math.random().toString(36).slice(2)}`;
      const stub = `<script nonce="${nonce}">
window.__posted = []; window.__states = []; let st = ${JSON.stringify(opts.state ?? null)} ?? undefined;
window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => st, setState: (s) => { st = s; window.__states.push(s); } });
${opts.stubScript ?? ''}
</script>`;
      const file = path.join(dir, `${name}-${count++}.html`);
      fs.writeFileSync(file, webviewHtml({ title: name, scriptUri: `${name}.js`, cspSource: 'file:', nonce }).replace('<body>', `<body>\n${stub}`));
      const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
      await page.goto(`file://${file}`);
      return { page, errors };
    },
    async close() {
      await browser.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
