/**
 * The host of a Capture panel: starts and stops a CaptureSession in the pod, forwards packet rows,
 * summarises HTTP from the pcap, saves the pcap, and opens a clone's capture taken from its start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import { DevlaneError, toDevlaneError } from '../core/errors';
import { CaptureSession, captureCandidates, openStartCapture } from '../core/observe/capture';
import { httpExchanges } from '../core/observe/http';
import { classifyApiError } from '../core/observe/kubeErrors';
import { readPcap, type PcapPacket } from '../core/observe/pcap';
import type { PacketRow } from '../core/observe/tcpdumpLine';
import { cloneAnnotations, cloneLabels } from '../core/clones/labels';
import { captureContainerName, captureDir, captureFile } from '../core/clones/spec/build';
import { isCaptureToHost, viewTypes, type CaptureToHost, type CaptureToView, type PacketRowDto, type PanelTarget } from '../../webview/protocol/messages';
import { setPanelHtml, WebviewChannel } from './panelHost';
import { kubeFor } from './kube';

const toDto = (r: PacketRow): PacketRowDto => {
  const { raw: _raw, ...rest } = r;
  return rest;
};

export class CapturePanel implements vscode.Disposable {
  static viewType = viewTypes.capture;
  private readonly channel: WebviewChannel<CaptureToView, CaptureToHost>;
  private kc?: KubeConfig;
  private pod?: V1Pod;
  private session?: CaptureSession;
  /** What the view shows now: the live capture, or the clone's start capture. */
  private shown: { kind: 'live' } | { kind: 'file'; pcap: Buffer; rows: PacketRow[] } = { kind: 'live' };
  private lastFilter = '';
  private pending: PacketRowDto[] = [];
  private timer?: NodeJS.Timeout;
  private lastStatus?: Extract<CaptureToView, { type: 'status' }>;

  constructor(private readonly ctx: DevlaneContext, readonly panel: vscode.WebviewPanel, readonly target: PanelTarget, filter = '') {
    this.lastFilter = filter;
    panel.title = `Capture: ${target.name}`;
    setPanelHtml(panel, ctx.extension.extensionUri, 'capture', panel.title);
    this.channel = new WebviewChannel(panel, isCaptureToHost, (m) => this.onMessage(m), () => this.sendAll(), ctx.logger);
    panel.onDidDispose(() => this.dispose());
    void this.init();
  }

  private isClone(): boolean {
    return this.pod?.metadata?.labels?.[cloneLabels.clone] === 'true';
  }

  private async init(): Promise<void> {
    try {
      this.kc = (await kubeFor(this.ctx, this.target)).kc;
      this.pod = await this.kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: this.target.name, namespace: this.target.namespace });
      this.sendInit();
      this.status({ type: 'status', state: 'idle' });
    } catch (e) {
      this.fail(classifyApiError(e, { verb: 'get', resource: 'pods', namespace: this.target.namespace, name: this.target.name }) ?? e);
    }
  }

  private sendInit(): void {
    this.channel.post({ type: 'init', target: this.target, filter: this.lastFilter, ...(this.isClone() ? { startFile: `${captureDir}/` } : {}) });
  }

  private sendAll(): void {
    if (!this.pod) return;
    this.sendInit();
    const rows = this.shown.kind === 'file' ? this.shown.rows : (this.session?.rows ?? []);
    this.channel.post({ type: 'clear', title: '' });
    for (let i = 0; i < rows.length; i += 5_000) this.channel.post({ type: 'rows', rows: rows.slice(i, i + 5_000).map(toDto) });
    if (this.lastStatus) this.channel.post(this.lastStatus);
  }

  private onMessage(m: Exclude<CaptureToHost, { type: 'ready' }>): void {
    const run = (p: Promise<void>) => void p.catch((e: unknown) => this.fail(e));
    switch (m.type) {
      case 'start':
        run(this.start(m.filter));
        break;
      case 'stop':
        run(this.stop());
        break;
      case 'download':
        run(this.download());
        break;
      case 'summarise':
        run(this.summarise());
        break;
      case 'openStartFile':
        run(this.openStartFile());
        break;
    }
  }

  private async start(filter: string): Promise<void> {
    if (!this.kc || !this.pod) return;
    await this.endSession();
    this.lastFilter = filter;
    this.shown = { kind: 'live' };
    this.channel.post({ type: 'clear', title: 'starting…' });
    this.status({ type: 'status', state: 'starting' });
    const s = new CaptureSession(this.kc, { namespace: this.target.namespace, pod: this.target.name, containers: captureCandidates(this.pod), filter }, this.ctx.logger);
    this.session = s;
    s.onRows((rows) => {
      this.pending.push(...rows.map(toDto));
      this.timer ??= setTimeout(() => this.flush(), 50);
    });
    s.onDidEnd((err) => {
      this.flush();
      if (err) this.fail(err);
      else this.status({ type: 'status', state: 'stopped' });
    });
    try {
      await s.start();
    } catch (e) {
      this.session = undefined;
      await s.dispose();
      throw e;
    }
    this.ctx.sessions.add(s);
    this.status({ type: 'status', state: 'running', detail: s.target ? `in ${s.target.container}` : '' });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    this.channel.post({ type: 'rows', rows: this.pending });
    this.pending = [];
  }

  private async stop(): Promise<void> {
    await this.session?.stop();
  }

  private async pcapBytes(): Promise<Buffer> {
    if (this.shown.kind === 'file') return this.shown.pcap;
    if (!this.session) throw new DevlaneError('capture-unavailable', 'Start a capture first.');
    return this.session.downloadPcap();
  }

  private async download(): Promise<void> {
    const bytes = await this.pcapBytes();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `${this.target.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.pcap`;
    const uri = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters: { 'Packet capture': ['pcap'] } });
    if (uri) await fs.promises.writeFile(uri.fsPath, bytes);
  }

  private async summarise(): Promise<void> {
    const bytes = await this.pcapBytes();
    let packets: PcapPacket[];
    try {
      packets = readPcap(bytes).packets;
    } catch (e) {
      throw new DevlaneError('capture-unavailable', `The capture file cannot be read: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const exchanges = httpExchanges(packets).map((x) => ({
      client: x.client,
      server: x.server,
      time: x.time,
      method: x.method,
      target: x.target,
      requestBodyBytes: x.requestBodyBytes,
      ...(x.host !== undefined ? { host: x.host } : {}),
      ...(x.status !== undefined ? { status: x.status } : {}),
      ...(x.reason !== undefined ? { reason: x.reason } : {}),
      ...(x.latencyMs !== undefined ? { latencyMs: x.latencyMs } : {}),
      ...(x.responseBodyBytes !== undefined ? { responseBodyBytes: x.responseBodyBytes } : {}),
    }));
    this.channel.post({ type: 'http', exchanges });
  }

  /** The clone's capture since start: tcpdump rotates it over capture.pcap0, capture.pcap1, … */
  private async openStartFile(): Promise<void> {
    if (!this.kc || !this.pod) return;
    const names = (this.pod.spec?.containers ?? []).map((c) => c.name);
    // Sidecar mode writes from devlane-capture; image mode from the app container (annotated).
    const container = names.includes(captureContainerName) ? captureContainerName : (this.pod.metadata?.annotations?.[cloneAnnotations.container] ?? names[0] ?? '');
    const { rows, pcap, files } = await openStartCapture(this.kc, this.target.namespace, this.target.name, { dir: captureDir, baseName: path.posix.basename(captureFile), container });
    await this.endSession();
    this.shown = { kind: 'file', pcap, rows };
    this.channel.post({ type: 'clear', title: '' });
    for (let i = 0; i < rows.length; i += 5_000) this.channel.post({ type: 'rows', rows: rows.slice(i, i + 5_000).map(toDto) });
    this.status({ type: 'status', state: 'file', detail: `${files.length} file${files.length === 1 ? '' : 's'} from the clone's start` });
  }

  private status(s: Extract<CaptureToView, { type: 'status' }>): void {
    this.lastStatus = s;
    this.channel.post(s);
  }

  private fail(e: unknown): void {
    const err = toDevlaneError(e);
    this.ctx.logger.warn(`capture in ${this.target.name}: ${err.reason}: ${err.message}`);
    this.status({ type: 'status', state: 'failed', error: { reason: err.reason, message: err.message } });
  }

  private async endSession(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (!s) return;
    if (this.ctx.sessions.get(s.id)) await this.ctx.sessions.end(s.id);
    else await s.dispose();
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    clearTimeout(this.timer);
    void this.endSession();
    this.channel.dispose();
  }
}
