/**
 * Wires the observe features: the Events, Logs and Capture panels (one per target, restored after a
 * reload by their serializers) and Open Shell. Commands take a ResourceRef (from the tree) or ask.
 */
import * as vscode from 'vscode';
import { CoreV1Api } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import { refOf, type ResourceRef } from '../core/kube/resourceRef';
import { isLogStreamOptions, isViewState, viewTypes, type PanelTarget, type ViewType } from '../../webview/protocol/messages';
import { CapturePanel } from './capturePanel';
import { EventsPanel } from './eventsPanel';
import { LogsPanel } from './logsPanel';
import { PanelSet, panelOptions, targetKey } from './panelHost';
import { AuditLogs, openShell } from './shellTerminal';
import { kubeFor } from './kube';

type AnyPanel = EventsPanel | LogsPanel | CapturePanel;

export function registerObserve(ctx: DevlaneContext): void {
  const panels = new PanelSet<AnyPanel>();
  const audits = new AuditLogs();

  const make = (viewType: ViewType, panel: vscode.WebviewPanel, target: PanelTarget, state?: Record<string, unknown>): AnyPanel => {
    if (viewType === viewTypes.events) return new EventsPanel(ctx, panel, target);
    if (viewType === viewTypes.logs) return new LogsPanel(ctx, panel, target, isLogStreamOptions(state?.options) ? state.options : undefined);
    return new CapturePanel(ctx, panel, target, typeof state?.filter === 'string' ? state.filter : '');
  };

  const show = (viewType: ViewType, target: PanelTarget): void => {
    const key = targetKey(viewType, target);
    const existing = panels.get(key);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(viewType, target.name, vscode.ViewColumn.Active, panelOptions(ctx.extension.extensionUri));
    panels.add(key, make(viewType, panel, target));
  };

  for (const viewType of Object.values(viewTypes)) {
    ctx.own(
      vscode.window.registerWebviewPanelSerializer(viewType, {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          if (!isViewState(state)) {
            // Nothing to restore it from: an empty panel would only confuse.
            panel.dispose();
            return;
          }
          panel.webview.options = panelOptions(ctx.extension.extensionUri);
          const key = targetKey(viewType, state.target);
          if (panels.get(key)) {
            panel.dispose();
            return;
          }
          panels.add(key, make(viewType, panel, state.target, state as Record<string, unknown>));
        },
      }),
    );
  }
  ctx.own({ dispose: () => panels.all().forEach((p) => p.panel.dispose()) });

  ctx.registerCommand('devlane.pod.events', async (arg) => {
    const t = refOf(arg) ?? (await pickPod(ctx, 'Show Events of…'));
    if (t) show(viewTypes.events, toTarget(t));
  });
  ctx.registerCommand('devlane.pod.logs', async (arg) => {
    const t = podRef(arg) ?? (await pickPod(ctx, 'Show Logs of…'));
    if (t) show(viewTypes.logs, toTarget(t));
  });
  ctx.registerCommand('devlane.pod.capture', async (arg) => {
    const t = podRef(arg) ?? (await pickPod(ctx, 'Capture Packets in…'));
    if (t) show(viewTypes.capture, toTarget(t));
  });
  ctx.registerCommand('devlane.pod.shell', async (arg) => {
    const t = podRef(arg) ?? (await pickPod(ctx, 'Open Shell in…'));
    if (t) await openShell(ctx, audits, toTarget(t));
  });
}

function toTarget(r: ResourceRef): PanelTarget {
  return { kind: r.kind, namespace: r.namespace, name: r.name, ...(r.context ? { context: r.context } : {}) };
}

/** Logs, capture and shell need a pod; a clone ref names its pod. */
function podRef(arg: unknown): ResourceRef | undefined {
  const r = refOf(arg);
  if (!r) return undefined;
  return r.kind === 'Pod' || r.kind === 'Clone' ? r : undefined;
}

async function pickPod(ctx: DevlaneContext, title: string): Promise<ResourceRef | undefined> {
  const loaded = await ctx.kube.require();
  const { kc } = await kubeFor(ctx, { kind: 'Namespace', namespace: loaded.namespace, name: loaded.namespace });
  const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: loaded.namespace })).items;
  const pick = await vscode.window.showQuickPick(
    pods.map((p) => ({ label: p.metadata?.name ?? '', description: p.status?.phase ?? '' })),
    { title: `${title} (namespace ${loaded.namespace})`, placeHolder: pods.length ? 'Pod' : `No pods in namespace ${loaded.namespace}` },
  );
  return pick ? { kind: 'Pod', namespace: loaded.namespace, name: pick.label, context: loaded.context } : undefined;
}
