import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import type { TunnelController, TunnelUiState } from '../core/tunnels/tunnelController';

const icons: Record<TunnelUiState, string> = {
  off: '$(debug-disconnect)',
  connecting: '$(sync~spin)',
  on: '$(plug)',
  degraded: '$(warning)',
  error: '$(error)',
};

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/**
 * The status-bar tunnel item: always present (the tunnel is one click away), showing off /
 * connecting / on with the connection count / degraded / error; a click toggles.
 */
export class TunnelStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly sub: { dispose(): void };

  constructor(
    private readonly ctx: DevlaneContext,
    private readonly tunnels: TunnelController,
  ) {
    this.item = vscode.window.createStatusBarItem('devlane.tunnel', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Devlane Tunnel';
    this.item.command = 'devlane.tunnel.toggle';
    this.sub = tunnels.onDidChange(() => this.render());
    this.render();
    this.item.show();
  }

  render(): void {
    const state = this.tunnels.state;
    const s = this.tunnels.session;
    const count = s?.totals.live ?? 0;
    const text: Record<TunnelUiState, string> = {
      off: 'tunnel off',
      connecting: 'connecting…',
      on: `tunnel on (${count})`,
      degraded: `tunnel degraded (${count})`,
      error: 'tunnel error',
    };
    this.item.text = `${icons[state]} Devlane: ${text[state]}`;
    this.item.backgroundColor = state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : state === 'degraded' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.tooltip = this.tooltip(state);
    this.ctx.setContext('devlane.tunnelState', state);
  }

  private tooltip(state: TunnelUiState): vscode.MarkdownString {
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: ['devlane.tunnel.toggle', 'devlane.tunnel.connect', 'devlane.tunnel.disconnect', 'devlane.tunnel.showLog', 'devlane.tunnel.openTerminal', 'devlane.tunnel.addReverseForward'] };
    const s = this.tunnels.session;
    md.appendMarkdown(`**Devlane tunnel: ${state}**\n\n`);
    if (s) {
      md.appendMarkdown(`Target: \`${s.target || s.label}\`\n\n`);
      if (s.tunnel.rttMs !== undefined) md.appendMarkdown(`Round trip: ${s.tunnel.rttMs} ms\n\n`);
      md.appendMarkdown(`SOCKS5: \`127.0.0.1:${s.socksPort}\`${s.httpPort !== undefined ? ` · HTTP: \`127.0.0.1:${s.httpPort}\`` : ''} · authentication ${s.socksCredentials ? 'on' : 'off'}\n\n`);
      md.appendMarkdown(`Connections: ${s.totals.live} open, ${s.totals.opened} total · ↑ ${formatBytes(s.totals.bytesUp)} ↓ ${formatBytes(s.totals.bytesDown)}\n\n`);
      if (s.tunnel.detail && state !== 'on') md.appendMarkdown(`${escape(s.tunnel.detail)}\n\n`);
    }
    const err = s?.tunnel.error?.message ?? this.tunnels.lastError?.message;
    if (state === 'error' && err) md.appendMarkdown(`${escape(err)}\n\n`);
    const links =
      state === 'off' || state === 'error'
        ? ['[$(plug) Connect](command:devlane.tunnel.connect)']
        : ['[$(debug-disconnect) Disconnect](command:devlane.tunnel.disconnect)', '[$(terminal) Terminal](command:devlane.tunnel.openTerminal)', '[$(add) Reverse forward](command:devlane.tunnel.addReverseForward)'];
    md.appendMarkdown([...links, '[$(output) Log](command:devlane.tunnel.showLog)'].join(' · '));
    return md;
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
