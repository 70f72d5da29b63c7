import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { DevlaneError } from '../core/errors';
import { OutageWatch, tunnelSnapshot, type TunnelAlert } from '../core/tunnels/outageWatch';
import type { TunnelController } from '../core/tunnels/tunnelController';

/**
 * Notifications for a tunnel that was on and stopped working: the status bar turns yellow or red,
 * but someone reading code does not look there, and their program's calls into the cluster just fail.
 */
export function watchTunnelOutages(ctx: DevlaneContext, controller: TunnelController): vscode.Disposable {
  const target = () => controller.session?.target || controller.session?.label || 'the bastion';
  const watch = new OutageWatch(
    () => 1000 * (ctx.config.get('devlane.tunnel.alertAfterSeconds') ?? 60),
    (a) => void show(ctx, a, target()),
  );
  const sub = controller.onDidChange(() => watch.update(tunnelSnapshot(controller)));
  return { dispose: () => (sub.dispose(), watch.dispose()) };
}

async function show(ctx: DevlaneContext, a: TunnelAlert, target: string): Promise<void> {
  const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
  switch (a.kind) {
    case 'failed':
      await ctx.showError(
        new DevlaneError(a.reason, `The tunnel to ${target} stopped and will not reconnect by itself. ${a.message}`, {
          actions: [
            { title: 'Connect Again', command: 'devlane.tunnel.connect' },
            { title: 'Show Tunnel Log', command: 'devlane.tunnel.showLog' },
          ],
        }),
      );
      return;
    case 'down': {
      const latest = a.detail ? ` Latest: ${a.detail}` : '';
      const picked = await vscode.window.showWarningMessage(`Devlane: the tunnel to ${target} has been down for ${seconds(a.forMs)}. Devlane keeps reconnecting; calls into the cluster fail until it is back.${latest}`, 'Show Tunnel Log', 'Disconnect');
      if (picked === 'Show Tunnel Log') await vscode.commands.executeCommand('devlane.tunnel.showLog');
      else if (picked === 'Disconnect') await vscode.commands.executeCommand('devlane.tunnel.disconnect');
      return;
    }
    case 'back':
      await vscode.window.showInformationMessage(`Devlane: the tunnel to ${target} is back after ${seconds(a.afterMs)}.`);
      return;
  }
}
