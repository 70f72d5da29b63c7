import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { DevlaneError } from '../core/errors';
import { kubeconfigFiles } from '../core/kube/kubeconfig';
import { KubeConfig } from '@kubernetes/client-node';

/** Commands that pick the cluster: kubeconfig file, context, or the embedded demo cluster. */
export function registerClusterCommands(ctx: DevlaneContext, onRefresh: () => void): void {
  ctx.registerCommand('devlane.showLog', () => ctx.log.show(true));

  ctx.registerCommand('devlane.refresh', async () => {
    await ctx.kube.reload();
    onRefresh();
  });

  ctx.registerCommand('devlane.chooseKubeconfig', async () => {
    const picked = await vscode.window.showOpenDialog({ title: 'Choose a kubeconfig file', canSelectMany: false, openLabel: 'Use Kubeconfig' });
    if (!picked?.[0]) return;
    await ctx.config.set('devlane.kubeconfig', picked[0].fsPath);
    await ctx.config.set('devlane.context', undefined);
    await ctx.kube.reload();
  });

  ctx.registerCommand('devlane.chooseContext', async () => {
    const files = kubeconfigFiles({ path: ctx.config.get('devlane.kubeconfig') }).filter((f) => fs.existsSync(f));
    const kc = new KubeConfig();
    for (const f of files) {
      try {
        const part = new KubeConfig();
        part.loadFromFile(f);
        for (const c of part.contexts) if (!kc.contexts.some((x) => x.name === c.name)) kc.addContext(c);
      } catch {
        // An unreadable file contributes no contexts; loading it later reports why.
      }
    }
    if (kc.contexts.length === 0) {
      throw new DevlaneError('kubeconfig-missing', `No contexts found in ${files.join(', ') || 'any kubeconfig'}. Choose a kubeconfig file or start the demo cluster.`, {
        actions: [{ title: 'Choose Kubeconfig…', command: 'devlane.chooseKubeconfig' }, { title: 'Start Demo Cluster', command: 'devlane.startDemoCluster' }],
      });
    }
    const current = ctx.kube.status.state === 'connected' ? ctx.kube.status.config.context : undefined;
    const pick = await vscode.window.showQuickPick(
      kc.contexts.map((c) => ({ label: c.name, description: [c.cluster, c.namespace].filter(Boolean).join(' · '), picked: c.name === current })),
      { title: 'Devlane: Choose Context', placeHolder: 'The kubeconfig context Devlane works in' },
    );
    if (!pick) return;
    await ctx.config.set('devlane.context', pick.label);
    await ctx.kube.reload();
  });

  ctx.registerCommand('devlane.startDemoCluster', async () => {
    // The demo cluster is built from the Devlane repository (Go binaries, kwok, a pod runner);
    // `npm start` tells the extension where that repository is.
    const repo = process.env.DEVLANE_REPO;
    if (!repo || !fs.existsSync(path.join(repo, 'cluster', 'cli.ts'))) {
      throw new DevlaneError('invalid-input', 'The demo cluster comes with the Devlane source repository: run `npm start` (or `npm run cluster:up`) in a clone of it, then choose the kubeconfig it prints.', {
        actions: [{ title: 'Choose Kubeconfig…', command: 'devlane.chooseKubeconfig' }],
      });
    }
    const kubeconfig = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Devlane: starting the demo cluster', cancellable: false }, () => startDemoCluster(ctx, repo));
    await ctx.config.set('devlane.kubeconfig', kubeconfig);
    await ctx.config.set('devlane.context', undefined);
    await ctx.kube.reload();
  });
}

async function startDemoCluster(ctx: DevlaneContext, repo: string): Promise<string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repo, 'scripts', 'run-ts.mjs'), 'cluster/cli.ts', 'up'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      ctx.log.info(d.toString().trimEnd());
    });
    child.stderr.on('data', (d: Buffer) => ctx.log.info(d.toString().trimEnd()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && fs.existsSync(last)) resolve(last);
      else reject(new DevlaneError('internal', `Starting the demo cluster failed (exit ${code}). See the Devlane log for its output.`, { actions: [{ title: 'Show Log', command: 'devlane.showLog' }] }));
    });
  });
}
