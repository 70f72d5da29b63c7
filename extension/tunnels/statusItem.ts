import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';

/**
 * The status-bar tunnel item. It always exists (so the tunnel is one click away) and shows the
 * tunnel's state; clicking runs devlane.tunnel.toggle.
 */
export function createTunnelStatusItem(ctx: DevlaneContext): vscode.StatusBarItem {
  const item = ctx.own(vscode.window.createStatusBarItem('devlane.tunnel', vscode.StatusBarAlignment.Left, 50));
  item.name = 'Devlane Tunnel';
  item.text = '$(debug-disconnect) Devlane: tunnel off';
  item.tooltip = 'Devlane tunnel is off. Click to connect.';
  item.command = 'devlane.tunnel.toggle';
  item.show();
  ctx.setContext('devlane.tunnelState', 'off');
  return item;
}
