/**
 * "Open Shell": a VS Code terminal backed by a PodShell (exec with a TTY). Resizing the terminal
 * resizes the remote TTY. Pods that are not the user's clones need a confirmation first, and the
 * audit log records whether it was given.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CoreV1Api } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import { DevlaneError } from '../core/errors';
import { AuditLog, auditLogPath } from '../core/observe/audit';
import { containersOf, defaultContainer } from '../core/observe/containers';
import { classifyApiError } from '../core/observe/kubeErrors';
import { PodShell } from '../core/observe/shell';
import { cloneLabels } from '../core/clones/labels';
import type { PanelTarget } from '../../webview/protocol/messages';
import { kubeFor } from './kube';

/** One AuditLog per file, so writes from several terminals stay in order. */
export class AuditLogs {
  private readonly logs = new Map<string, AuditLog>();
  forFile(file: string): AuditLog {
    let l = this.logs.get(file);
    if (!l) {
      l = new AuditLog(file);
      this.logs.set(file, l);
    }
    return l;
  }
}

export async function openShell(ctx: DevlaneContext, audits: AuditLogs, target: PanelTarget): Promise<vscode.Terminal | undefined> {
  const kube = await kubeFor(ctx, target);
  let pod;
  try {
    pod = await kube.kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: target.name, namespace: target.namespace });
  } catch (e) {
    throw classifyApiError(e, { verb: 'get', resource: 'pods', namespace: target.namespace, name: target.name }) ?? e;
  }
  const running = containersOf(pod).filter((c) => c.state === 'running' && c.kind !== 'init');
  if (running.length === 0) throw new DevlaneError('no-shell', `No container of ${target.name} is running, so there is nothing to open a shell in. Open its events to see why.`, { actions: [{ title: 'Show Events', command: 'devlane.pod.events', args: [target] }] });
  let container = defaultContainer(pod);
  if (!container || !running.some((c) => c.name === container)) container = running[0]?.name;
  if (running.length > 1) {
    const pick = await vscode.window.showQuickPick(
      running.map((c) => ({ label: c.name, description: c.kind === 'app' ? '' : c.kind, picked: c.name === container })),
      { title: `Open Shell in ${target.name}`, placeHolder: 'Container' },
    );
    if (!pick) return undefined;
    container = pick.label;
  }
  if (!container) return undefined;
  const isClone = pod.metadata?.labels?.[cloneLabels.clone] === 'true';
  let confirmed = false;
  if (!isClone) {
    const go = 'Open Shell';
    const answer = await vscode.window.showWarningMessage(
      `${target.namespace}/${target.name} is not one of your clones: it may serve real traffic, and what you run there affects it. Open a shell anyway? It will be recorded in the audit log.`,
      { modal: true },
      go,
    );
    if (answer !== go) return undefined;
    confirmed = true;
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.join(ctx.extension.globalStorageUri.fsPath, 'no-workspace');
  const audit = audits.forFile(auditLogPath(folder));
  const auditTarget = { user: os.userInfo().username, context: kube.context, server: kube.server, ...(kube.kubeUser ? { kubeUser: kube.kubeUser } : {}), namespace: target.namespace, pod: target.name, container };
  const write = new vscode.EventEmitter<string>();
  const close = new vscode.EventEmitter<number | void>();
  let shell: PodShell | undefined;
  const pty: vscode.Pseudoterminal = {
    onDidWrite: write.event,
    onDidClose: close.event,
    open: (dims) => {
      const s = new PodShell(kube.kc, { target: { namespace: target.namespace, pod: target.name, container: container as string }, audit, auditTarget, isClone, confirmed, ...(dims ? { columns: dims.columns, rows: dims.rows } : {}) }, ctx.logger);
      shell = s;
      s.onOutput((t) => write.fire(t));
      s.onExit((e) => close.fire(e.code ?? undefined));
      s.open().catch((e: unknown) => {
        write.fire(`\r\n${e instanceof Error ? e.message : String(e)}\r\n`);
        void ctx.showError(e);
        close.fire(1);
      });
    },
    close: () => shell?.dispose(),
    handleInput: (data) => shell?.input(data),
    setDimensions: (d) => shell?.resize(d.columns, d.rows),
  };
  const terminal = vscode.window.createTerminal({ name: `${target.name}/${container}`, pty, iconPath: new vscode.ThemeIcon('terminal') });
  terminal.show();
  return terminal;
}
