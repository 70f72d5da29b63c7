import * as path from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { debugType } from '../ids';
import { Emitter } from '../core/events';
import { DevlaneError } from '../core/errors';
import type { Session, SessionStatus } from '../core/sessions/session';
import { resolveAttachConfiguration, type DevlaneDebugConfiguration } from '../../debug-adapter/dap/config';
import { discoverJdwpPort, jdwpPortOf } from '../../debug-adapter/kube/jdwpPort';

/**
 * F5 for `devlane` configurations. The adapter runs as its own Node process (dist/debug-adapter.js)
 * rather than inline: a JVM can send anything, and whatever the adapter does with it must never take
 * the extension host (tunnels, clones, views) down with it; a separate process also keeps JDWP
 * traffic and its buffers off the host's event loop. The cost is one short-lived process per session.
 */
export function registerDebug(ctx: DevlaneContext): void {
  const adapter = path.join(ctx.extension.extensionPath, 'dist', 'debug-adapter.js');
  ctx.own(
    vscode.debug.registerDebugAdapterDescriptorFactory(debugType, {
      createDebugAdapterDescriptor: () =>
        // Inside VS Code process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node.
        new vscode.DebugAdapterExecutable(process.execPath, [adapter], { env: { ELECTRON_RUN_AS_NODE: '1' } }),
    }),
  );
  ctx.own(vscode.debug.registerDebugConfigurationProvider(debugType, new DevlaneConfigurationProvider(ctx)));

  // Each running debug session is a Devlane session too: listed with the others, ended on deactivate.
  const live = new Map<string, DebugAttachment>();
  ctx.own(
    vscode.debug.onDidStartDebugSession((s) => {
      if (s.type !== debugType) return;
      const a = ctx.sessions.add(new DebugAttachment(s));
      live.set(s.id, a);
    }),
  );
  ctx.own(
    vscode.debug.onDidTerminateDebugSession((s) => {
      const a = live.get(s.id);
      if (!a) return;
      live.delete(s.id);
      a.markStopped();
      void ctx.sessions.end(a.id);
    }),
  );
}

class DevlaneConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly ctx: DevlaneContext) {}

  private pickPod(c: DevlaneDebugConfiguration): Promise<boolean> {
    return pickPodTarget(this.ctx, c);
  }

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [{ type: debugType, request: 'attach', name: 'Devlane: Attach to JVM', hostName: '127.0.0.1', port: 5005 }];
  }

  /** F5 without a launch.json, or a configuration missing its port: ask for what cannot be defaulted. */
  async resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    const c = { ...config } as DevlaneDebugConfiguration;
    if (!c.type && !c.request && !c.name) Object.assign(c, { type: debugType, request: 'attach', name: 'Devlane: Attach to JVM' });
    try {
      if (c.request === 'attach' && c.kubernetes !== undefined && !(await this.pickPod(c))) return undefined;
      if (c.request === 'attach' && (c.port === undefined || c.port === '')) {
        const answer = await vscode.window.showInputBox({
          title: 'Attach to a JVM',
          prompt: 'The JDWP port the JVM listens on (-agentlib:jdwp=…,address=PORT)',
          value: '5005',
          validateInput: (v) => (/^\d+$/.test(v) && Number(v) > 0 && Number(v) < 65536 ? undefined : 'A port number, 1–65535'),
        });
        if (answer === undefined) return undefined;
        c.port = Number(answer);
      }
      const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
      return resolveAttachConfiguration(c, folders) as vscode.DebugConfiguration;
    } catch (e) {
      void this.ctx.showError(e);
      return undefined;
    }
  }
}

type KubernetesTarget = { kubeconfig?: string; context?: string; namespace?: string; pod?: string };

/** Fills the pod target of an attach: context and kubeconfig from Devlane's connection, the rest picked. */
async function pickPodTarget(ctx: DevlaneContext, c: DevlaneDebugConfiguration): Promise<boolean> {
  const k = { ...((c.kubernetes ?? {}) as KubernetesTarget) };
  const loaded = await ctx.kube.require();
  k.context ??= loaded.context;
  // The adapter process reads one file; several (KUBECONFIG=a:b) reach it through its inherited environment.
  if (!k.kubeconfig && loaded.files.length === 1) k.kubeconfig = loaded.files[0];
  const core = loaded.kc.makeApiClient(CoreV1Api);
  if (!k.namespace) {
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
    const ordered = [loaded.namespace, ...names.filter((n) => n !== loaded.namespace)];
    const picked = await vscode.window.showQuickPick(ordered, { title: 'Attach to a JVM in a pod', placeHolder: 'Namespace' });
    if (!picked) return false;
    k.namespace = picked;
  }
  let pod: V1Pod | undefined;
  if (!k.pod) {
    const pods = (await core.listNamespacedPod({ namespace: k.namespace })).items.filter((p) => p.status?.phase === 'Running');
    if (!pods.length) throw new DevlaneError('no-pods', `No running pods in namespace ${k.namespace}.`);
    const picked = await vscode.window.showQuickPick(
      pods.map((p) => ({ label: p.metadata?.name ?? '', description: jdwpPortOf(p) ? `JDWP port ${jdwpPortOf(p)}` : 'no JDWP port found in its spec', pod: p })),
      { title: 'Attach to a JVM in a pod', placeHolder: 'Pod' },
    );
    if (!picked) return false;
    k.pod = picked.label;
    pod = picked.pod;
  }
  if (c.port === undefined || c.port === '') {
    pod ??= await core.readNamespacedPod({ name: k.pod, namespace: k.namespace });
    const found = await discoverJdwpPort(loaded.kc, pod);
    if (found) c.port = found;
  }
  c.kubernetes = k;
  return true;
}

/** A `devlane` debug session as seen by the session registry; ending it stops the debug session. */
class DebugAttachment implements Session {
  readonly kind = 'debug' as const;
  readonly id: string;
  readonly label: string;
  private state: SessionStatus = { state: 'running' };
  private readonly changes = new Emitter<SessionStatus>();
  readonly onDidChangeStatus = this.changes.event;

  constructor(private readonly session: vscode.DebugSession) {
    this.id = `debug:${session.id}`;
    const c = session.configuration as DevlaneDebugConfiguration;
    this.label = `${session.name} (${c.hostName ?? '127.0.0.1'}:${String(c.port ?? '?')})`;
  }

  get status(): SessionStatus {
    return this.state;
  }

  markStopped(): void {
    this.state = { state: 'stopped' };
    this.changes.fire(this.state);
  }

  async dispose(): Promise<void> {
    if (this.state.state !== 'stopped') {
      this.state = { state: 'stopping' };
      this.changes.fire(this.state);
      // Detaching (not terminating) leaves the JVM running, which is what ending a debug attachment means.
      await vscode.debug.stopDebugging(this.session);
    }
    this.changes.dispose();
  }
}
