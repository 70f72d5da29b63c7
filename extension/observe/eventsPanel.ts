/** The host of an Events panel: runs an EventsFeed for its target and posts its snapshots. */
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { toDevlaneError } from '../core/errors';
import { EventsFeed, type EventsSnapshot } from '../core/observe/eventsFeed';
import type { ResourceKind } from '../core/kube/resourceRef';
import { isEventsToHost, viewTypes, type EventsToHost, type EventsToView, type PanelTarget } from '../../webview/protocol/messages';
import { setPanelHtml, WebviewChannel } from './panelHost';
import { kubeFor } from './kube';

export class EventsPanel implements vscode.Disposable {
  private feed?: EventsFeed;
  private readonly channel: WebviewChannel<EventsToView, EventsToHost>;
  private last?: EventsSnapshot;

  constructor(private readonly ctx: DevlaneContext, readonly panel: vscode.WebviewPanel, readonly target: PanelTarget) {
    panel.title = `Events: ${target.name}`;
    setPanelHtml(panel, ctx.extension.extensionUri, 'events', panel.title);
    this.channel = new WebviewChannel(panel, isEventsToHost, (m) => this.onMessage(m), () => this.sendAll(), ctx.logger);
    panel.onDidDispose(() => this.dispose());
    void this.start();
  }

  static viewType = viewTypes.events;

  private async start(): Promise<void> {
    try {
      const { kc } = await kubeFor(this.ctx, this.target);
      const ref = { kind: this.target.kind as ResourceKind, namespace: this.target.namespace, name: this.target.name, ...(this.target.context ? { context: this.target.context } : {}) };
      this.feed = new EventsFeed(kc, ref, this.ctx.logger);
      this.feed.onDidUpdate((s) => {
        this.last = s;
        this.post(s);
      });
      this.feed.start();
    } catch (e) {
      const err = toDevlaneError(e);
      this.channel.post({ type: 'snapshot', target: this.target, entries: [], podProblems: [], state: 'failed', error: { reason: err.reason, message: err.message } });
    }
  }

  private post(s: EventsSnapshot): void {
    this.channel.post({ type: 'snapshot', target: this.target, entries: s.entries.map((e) => ({ ...e })), podProblems: s.podProblems, state: s.state, ...(s.error ? { error: s.error } : {}) });
  }

  private sendAll(): void {
    if (this.last) this.post(this.last);
  }

  private onMessage(m: Exclude<EventsToHost, { type: 'ready' }>): void {
    if (m.type === 'refresh') void this.feed?.refresh().catch((e: unknown) => void this.ctx.showError(e));
    else if (m.type === 'openLogs') void vscode.commands.executeCommand('devlane.pod.logs', this.target);
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    this.feed?.dispose();
    this.feed = undefined;
    this.channel.dispose();
  }
}
