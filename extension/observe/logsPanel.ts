/**
 * The host of a Logs panel: one LogFollow at a time (a new container or option replaces it), lines
 * batched to the webview, a bounded copy kept for download and for a reloaded page.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import { toDevlaneError } from '../core/errors';
import { containersOf, defaultContainer } from '../core/observe/containers';
import { LogFollow } from '../core/observe/logFollow';
import { LogBuffer } from '../core/observe/logModel';
import { classifyApiError } from '../core/observe/kubeErrors';
import { isLogsToHost, viewTypes, type ContainerDto, type LogLineDto, type LogStreamOptions, type LogsToHost, type LogsToView, type PanelTarget } from '../../webview/protocol/messages';
import { setPanelHtml, WebviewChannel } from './panelHost';
import { kubeFor } from './kube';

const batchMs = 40;
const maxBatch = 5_000;

export class LogsPanel implements vscode.Disposable {
  static viewType = viewTypes.logs;
  private readonly channel: WebviewChannel<LogsToView, LogsToHost>;
  private follow?: LogFollow;
  private kc?: KubeConfig;
  private readonly copy = new LogBuffer(200_000);
  private pending: LogLineDto[] = [];
  private timer?: NodeJS.Timeout;
  private options?: LogStreamOptions;
  private containers: ContainerDto[] = [];
  private lastStatus?: Extract<LogsToView, { type: 'status' }>;

  constructor(private readonly ctx: DevlaneContext, readonly panel: vscode.WebviewPanel, readonly target: PanelTarget, initial?: Partial<LogStreamOptions>) {
    panel.title = `Logs: ${target.name}`;
    setPanelHtml(panel, ctx.extension.extensionUri, 'logs', panel.title);
    this.channel = new WebviewChannel(panel, isLogsToHost, (m) => this.onMessage(m), () => this.sendAll(), ctx.logger);
    panel.onDidDispose(() => this.dispose());
    void this.init(initial);
  }

  private async init(initial?: Partial<LogStreamOptions>): Promise<void> {
    try {
      this.kc = (await kubeFor(this.ctx, this.target)).kc;
      const pod = await this.kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: this.target.name, namespace: this.target.namespace });
      this.containers = containersOf(pod).map((c) => ({ name: c.name, kind: c.kind, state: c.state, restarts: c.restarts, hasPrevious: c.hasPrevious }));
      const container = initial?.container && this.containers.some((c) => c.name === initial.container) ? initial.container : (defaultContainer(pod) ?? '');
      this.options = { container, previous: initial?.previous ?? false, sinceSeconds: initial?.sinceSeconds ?? 0, tailLines: initial?.tailLines ?? -1 };
      this.channel.post({ type: 'init', target: this.target, containers: this.containers, options: this.options });
      await this.open(this.options);
    } catch (e) {
      const err = classifyApiError(e, { verb: 'get', resource: 'pods', namespace: this.target.namespace, name: this.target.name }) ?? toDevlaneError(e);
      this.status({ type: 'status', state: err.reason === 'not-found' ? 'gone' : 'failed', error: { reason: err.reason, message: err.message } });
    }
  }

  private async open(options: LogStreamOptions): Promise<void> {
    if (!this.kc) return;
    await this.stopFollow();
    this.options = options;
    this.copy.clear();
    this.pending = [];
    this.channel.post({ type: 'reset', options });
    this.status({ type: 'status', state: 'starting' });
    const follow = new LogFollow(
      this.kc,
      {
        namespace: this.target.namespace,
        pod: this.target.name,
        container: options.container,
        previous: options.previous,
        follow: !options.previous,
        ...(options.sinceSeconds > 0 ? { sinceSeconds: options.sinceSeconds } : {}),
        ...(options.tailLines >= 0 ? { tailLines: options.tailLines } : {}),
      },
      this.ctx.logger,
    );
    this.follow = follow;
    this.ctx.sessions.add(follow);
    follow.onLines((lines) => {
      for (const l of lines) this.copy.push(l);
      this.pending.push(...lines);
      if (this.pending.length >= maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), batchMs);
    });
    follow.onDidChangeStatus((s) => {
      if (s.state === 'running') this.status({ type: 'status', state: 'following' });
    });
    follow.onDidEnd((end) => {
      this.flush();
      if (end.why === 'stopped') return;
      if (end.why === 'completed') this.status({ type: 'status', state: 'ended' });
      else if (end.why === 'gone' || end.why === 'failed') this.status({ type: 'status', state: end.why === 'gone' ? 'gone' : 'failed', error: { reason: end.error.reason, message: end.error.message } });
    });
    await follow.start();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.channel.post({ type: 'lines', lines });
  }

  private status(s: Extract<LogsToView, { type: 'status' }>): void {
    this.lastStatus = s;
    this.channel.post(s);
  }

  /** A reloaded page starts empty: send it everything again, in batches. */
  private sendAll(): void {
    if (!this.options) return;
    this.channel.post({ type: 'init', target: this.target, containers: this.containers, options: this.options });
    this.channel.post({ type: 'reset', options: this.options });
    let batch: LogLineDto[] = [];
    for (const l of this.copy) {
      batch.push(l);
      if (batch.length >= maxBatch) {
        this.channel.post({ type: 'lines', lines: batch });
        batch = [];
      }
    }
    if (batch.length) this.channel.post({ type: 'lines', lines: batch });
    if (this.lastStatus) this.channel.post(this.lastStatus);
  }

  private onMessage(m: Exclude<LogsToHost, { type: 'ready' }>): void {
    if (m.type === 'open') void this.open(m.options).catch((e: unknown) => void this.ctx.showError(e));
    else if (m.type === 'download') void this.download().catch((e: unknown) => void this.ctx.showError(e));
  }

  private async download(): Promise<void> {
    const name = `${this.target.name}-${this.options?.container ?? 'log'}${this.options?.previous ? '-previous' : ''}.log`;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters: { Log: ['log', 'txt'] } });
    if (!uri) return;
    const out = fs.createWriteStream(uri.fsPath);
    for (const l of this.copy) out.write(`${l.ts ? `${l.ts} ` : ''}${l.text}${l.cut ? ` …[${l.cut} characters cut]` : ''}\n`);
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }

  private async stopFollow(): Promise<void> {
    const f = this.follow;
    this.follow = undefined;
    if (f) await this.ctx.sessions.end(f.id);
  }

  reveal(options?: Partial<LogStreamOptions>): void {
    this.panel.reveal();
    if (options && this.options && Object.entries(options).some(([k, v]) => this.options?.[k as keyof LogStreamOptions] !== v)) void this.open({ ...this.options, ...options });
  }

  dispose(): void {
    clearTimeout(this.timer);
    void this.stopFollow();
    this.channel.dispose();
  }
}
