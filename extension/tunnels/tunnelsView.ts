import * as vscode from 'vscode';
import type { Event } from '../core/events';
import type { SessionRegistry } from '../core/sessions/registry';
import type { DeclaredSetup } from '../core/tunnels/declared';
import type { RegistrationSession } from '../core/tunnels/registry/registrationSession';
import type { TunnelController } from '../core/tunnels/tunnelController';
import type { TunnelSession } from '../core/tunnels/tunnelSession';
import { views } from '../ids';
import { registrations } from './registrations';
import { formatBytes } from './statusItem';

type Node =
  | { readonly type: 'tunnel'; readonly session: TunnelSession }
  | { readonly type: 'info'; readonly label: string; readonly description?: string; readonly icon: string; readonly tooltip?: string }
  | { readonly type: 'forwards'; readonly session: TunnelSession }
  | { readonly type: 'registrations' }
  | { readonly type: 'registration'; readonly registration: RegistrationSession }
  | { readonly type: 'connections'; readonly session: TunnelSession }
  | { readonly type: 'declared'; readonly setup: DeclaredSetup };

/** The set-up of the devlane.yaml tunnel that is on, if any, and when it changes. */
export interface DeclaredView {
  readonly current: () => DeclaredSetup | undefined;
  readonly onDidChange: Event<void>;
}

/**
 * *Tunnels*: the live tunnel with its proxy endpoints, reverse forwards, service-registry
 * registrations and connections (fetched from the data plane when expanded). Empty when no tunnel
 * is on, so the welcome text shows.
 */
export class TunnelsView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<Node>;
  private readonly sub: { dispose(): void };
  private readonly registrySub: { dispose(): void } | undefined;
  private readonly declaredSub: { dispose(): void } | undefined;
  private lastShape = '';

  constructor(
    private readonly tunnels: TunnelController,
    private readonly sessions?: SessionRegistry,
    private readonly declared?: DeclaredView,
  ) {
    this.view = vscode.window.createTreeView(views.tunnels, { treeDataProvider: this });
    // Totals change every second while traffic flows; only the structure (and labels) warrant a refresh.
    this.sub = tunnels.onDidChange(() => {
      const s = tunnels.session;
      const shape = s ? `${s.id}|${s.status.state}|${s.status.detail}|${s.forwards.length}|${s.totals.live}` : tunnels.state;
      if (shape === this.lastShape) return;
      this.lastShape = shape;
      this.changed.fire(undefined);
    });
    this.registrySub = sessions?.onDidChange((e) => {
      if (e.session.kind === 'registration') this.changed.fire(undefined);
    });
    this.declaredSub = declared?.onDidChange(() => this.changed.fire(undefined));
  }

  getTreeItem(n: Node): vscode.TreeItem {
    switch (n.type) {
      case 'tunnel': {
        const s = n.session;
        const item = new vscode.TreeItem(s.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = s.id;
        item.description = s.status.detail;
        item.contextValue = 'devlane.tunnel';
        item.iconPath = new vscode.ThemeIcon(s.status.state === 'running' ? 'plug' : s.status.state === 'failed' ? 'error' : s.status.state === 'degraded' ? 'warning' : 'sync~spin');
        item.tooltip = s.tunnel.error?.message ?? s.tunnel.detail;
        return item;
      }
      case 'info': {
        const item = new vscode.TreeItem(n.label, vscode.TreeItemCollapsibleState.None);
        item.description = n.description;
        item.iconPath = new vscode.ThemeIcon(n.icon);
        item.tooltip = n.tooltip;
        return item;
      }
      case 'forwards': {
        const item = new vscode.TreeItem('Reverse forwards', n.session.forwards.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.description = n.session.forwards.length ? undefined : 'none';
        item.iconPath = new vscode.ThemeIcon('arrow-left');
        item.contextValue = 'devlane.tunnel.forwards';
        return item;
      }
      case 'registrations': {
        const n = this.sessions ? registrations(this.sessions).length : 0;
        const item = new vscode.TreeItem('Registrations', n ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.description = n ? undefined : 'none';
        item.iconPath = new vscode.ThemeIcon('broadcast');
        item.contextValue = 'devlane.tunnel.registrations';
        return item;
      }
      case 'registration': {
        const r = n.registration;
        const item = new vscode.TreeItem(`${r.spec.instance.serviceName} → ${r.spec.instance.inbound.address}:${r.spec.instance.inbound.port}`, vscode.TreeItemCollapsibleState.None);
        item.id = r.id;
        item.description = `${r.spec.registry.kind} · ${r.status.detail ?? r.status.state}`;
        item.tooltip = `${r.spec.registry.url}\ninstance ${r.instanceId}\nvia ${r.spec.instance.inbound.via}${r.lastError ? `\n${r.lastError.message}` : ''}`;
        item.contextValue = 'devlane.registration';
        item.iconPath = new vscode.ThemeIcon(r.status.state === 'running' ? 'broadcast' : r.status.state === 'degraded' ? 'warning' : r.status.state === 'failed' ? 'error' : 'sync~spin');
        return item;
      }
      case 'declared': {
        const { setup } = n;
        const failed = setup.failures.length;
        const item = new vscode.TreeItem(`devlane.yaml: ${setup.declared.name}`, vscode.TreeItemCollapsibleState.Expanded);
        item.description = `${setup.outcomes.length - failed} of ${setup.outcomes.length} set up`;
        item.iconPath = new vscode.ThemeIcon(failed ? 'warning' : 'file-code');
        item.tooltip = 'What devlane.yaml declares for this tunnel: set up after connecting and again after a reconnect.';
        return item;
      }
      case 'connections': {
        const item = new vscode.TreeItem('Connections', vscode.TreeItemCollapsibleState.Collapsed);
        item.description = `${n.session.totals.live} open · ${n.session.totals.opened} total`;
        item.iconPath = new vscode.ThemeIcon('list-flat');
        return item;
      }
    }
  }

  async getChildren(n?: Node): Promise<Node[]> {
    const s = this.tunnels.session;
    if (!n) return s ? [{ type: 'tunnel', session: s }] : [];
    if (n.type === 'tunnel') {
      const t = n.session;
      return [
        { type: 'info', label: 'SOCKS5', description: `127.0.0.1:${t.socksPort}`, icon: 'globe' },
        ...(t.httpPort !== undefined ? [{ type: 'info' as const, label: 'HTTP proxy', description: `127.0.0.1:${t.httpPort}`, icon: 'globe' }] : []),
        // Whether the proxies ask for credentials; the credentials themselves are never shown.
        ...(t.socksCredentials
          ? [{ type: 'info' as const, label: 'Authentication on', description: 'fresh credentials for this tunnel', icon: 'lock', tooltip: 'Both proxies require the username and password Devlane made at connect; run/debug sessions and the tunnel terminal get them.' }]
          : []),
        { type: 'forwards', session: t },
        ...(this.sessions ? [{ type: 'registrations' as const }] : []),
        ...declaredNode(this.declared?.current(), t),
        { type: 'connections', session: t },
      ];
    }
    if (n.type === 'declared') {
      return n.setup.outcomes.map((o) => ({
        type: 'info' as const,
        label: o.label,
        description: o.state === 'failed' ? `failed: ${o.error?.reason ?? 'error'}` : o.state === 'ok' ? 'set up' : 'setting up…',
        icon: o.state === 'failed' ? 'error' : o.state === 'ok' ? 'check' : 'sync~spin',
        ...(o.error ? { tooltip: o.error.message } : {}),
      }));
    }
    if (n.type === 'registrations') return this.sessions ? registrations(this.sessions).map((registration) => ({ type: 'registration' as const, registration })) : [];
    if (n.type === 'forwards') {
      // Agent listeners are shown where pods reach them (the Service name, else the pod IP); the bind address goes to the tooltip.
      return n.session.forwards.map((f) => ({ type: 'info', label: f.service ? `${f.service.host}:${f.service.port}` : f.reachable ? `${f.reachable.address}:${f.reachable.port}` : `${f.bindAddress}:${f.bindPort}`, description: `→ ${f.localHost}:${f.localPort}`, icon: f.service ? 'cloud' : 'arrow-left', tooltip: `listening on ${f.bindAddress}:${f.bindPort}` }));
    }
    if (n.type === 'connections') {
      const { live } = await n.session.connections().catch(() => ({ live: [] }));
      return live.map((c) => ({ type: 'info', label: c.target, description: `${c.protocol} · ↑ ${formatBytes(c.bytesUp)} ↓ ${formatBytes(c.bytesDown)} · ${Math.round(c.durationMs / 1000)} s`, icon: 'arrow-right', tooltip: `from ${c.client}` }));
    }
    return [];
  }

  dispose(): void {
    this.sub.dispose();
    this.registrySub?.dispose();
    this.declaredSub?.dispose();
    this.view.dispose();
    this.changed.dispose();
  }
}

function declaredNode(setup: DeclaredSetup | undefined, t: TunnelSession): Node[] {
  return setup && setup.tunnel === t && setup.outcomes.length ? [{ type: 'declared', setup }] : [];
}
