/**
 * What every observe panel shares: the webview page and its CSP, the ready handshake (nothing is
 * posted before the page says it listens; a reloaded page says it again and gets everything anew),
 * guarded receiving, and one panel per target, reused.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { webviewHtml } from '../../webview/protocol/html';
import type { PanelTarget, ViewType } from '../../webview/protocol/messages';

export function panelOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableFindWidget: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

export function setPanelHtml(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, bundle: string, title: string): void {
  const scriptUri = panel.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${bundle}.js`)).toString();
  panel.webview.html = webviewHtml({ title, scriptUri, cspSource: panel.webview.cspSource, nonce: randomBytes(16).toString('base64') });
}

export function targetKey(viewType: ViewType, t: PanelTarget): string {
  return `${viewType}|${t.context ?? ''}|${t.kind}|${t.namespace}|${t.name}`;
}

/**
 * A typed channel to one webview. `onReady` runs on every `ready` (first load and each reload);
 * messages posted before the first `ready` wait for it.
 */
export class WebviewChannel<ToView, ToHost extends { type: string }> implements vscode.Disposable {
  private ready = false;
  private queue: ToView[] = [];
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly panel: vscode.WebviewPanel,
    isToHost: (m: unknown) => m is ToHost,
    onMessage: (m: Exclude<ToHost, { type: 'ready' }>) => void,
    onReady: () => void,
    log: { warn(m: string): void },
  ) {
    this.subs.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (!isToHost(m)) {
          log.warn(`webview ${panel.viewType} sent a message outside the protocol: ${JSON.stringify(m).slice(0, 200)}`);
          return;
        }
        if (m.type === 'ready') {
          this.ready = true;
          const pending = this.queue.splice(0);
          onReady();
          for (const p of pending) void this.panel.webview.postMessage(p);
          return;
        }
        onMessage(m as Exclude<ToHost, { type: 'ready' }>);
      }),
    );
  }

  post(m: ToView): void {
    if (!this.ready) this.queue.push(m);
    else void this.panel.webview.postMessage(m);
  }

  /** True once the page listens; a post before then is queued. */
  get isReady(): boolean {
    return this.ready;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }
}

/** One panel per target: opening the same pod again reveals the panel already showing it. */
export class PanelSet<P extends { readonly panel: vscode.WebviewPanel }> {
  private readonly panels = new Map<string, P>();

  get(key: string): P | undefined {
    return this.panels.get(key);
  }

  add(key: string, p: P): P {
    this.panels.set(key, p);
    p.panel.onDidDispose(() => {
      if (this.panels.get(key) === p) this.panels.delete(key);
    });
    return p;
  }

  all(): P[] {
    return [...this.panels.values()];
  }
}
