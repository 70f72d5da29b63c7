import * as vscode from 'vscode';
import { Emitter } from './core/events';
import type { SettingId, Settings } from './ids';

/** Settings whose change means the cluster connection must be re-established. */
const reconnectOn: readonly SettingId[] = ['devlane.kubeconfig', 'devlane.context'];
/** Settings whose change means a live tunnel must be restarted. */
const tunnelRestartOn: readonly SettingId[] = ['devlane.tunnel.socksPort', 'devlane.tunnel.httpPort', 'devlane.tunnel.keepaliveIntervalSeconds', 'devlane.tunnel.keepaliveCountMax'];

export type ConfigChange = { readonly reconnect: boolean; readonly tunnelRestart: boolean; readonly changed: readonly SettingId[] };

/**
 * Typed access to `devlane.*` settings. Knows which changes need a reconnect or a tunnel restart,
 * so features react to what matters instead of to every change.
 */
export class DevlaneConfig implements vscode.Disposable {
  private readonly changes = new Emitter<ConfigChange>();
  readonly onDidChange = this.changes.event;
  private readonly sub: vscode.Disposable;

  constructor() {
    this.sub = vscode.workspace.onDidChangeConfiguration((e) => {
      const all = [...reconnectOn, ...tunnelRestartOn, 'devlane.clone.ttlMinutes'] as SettingId[];
      const changed = all.filter((id) => e.affectsConfiguration(id));
      if (changed.length === 0) return;
      this.changes.fire({ changed, reconnect: changed.some((c) => reconnectOn.includes(c)), tunnelRestart: changed.some((c) => tunnelRestartOn.includes(c)) });
    });
  }

  get<K extends SettingId>(id: K): Settings[K] | undefined {
    const dot = id.indexOf('.');
    const v = vscode.workspace.getConfiguration(id.slice(0, dot)).get<Settings[K]>(id.slice(dot + 1));
    // An empty string means "not set" for the path-like settings.
    return v === '' ? undefined : v;
  }

  async set<K extends SettingId>(id: K, value: Settings[K] | undefined, target = vscode.ConfigurationTarget.Workspace): Promise<void> {
    const dot = id.indexOf('.');
    await vscode.workspace.getConfiguration(id.slice(0, dot)).update(id.slice(dot + 1), value, vscode.workspace.workspaceFolders?.length ? target : vscode.ConfigurationTarget.Global);
  }

  dispose(): void {
    this.sub.dispose();
    this.changes.dispose();
  }
}
