import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { DevlaneError, toDevlaneError } from '../core/errors';
import { readSavedClones, type SavedClone } from '../core/clones/config';
import type { Deployer } from '../core/clones/deploy/deploy';
import { listClones, type CloneEnv, type CloneInfo } from '../core/clones/lifecycle';
import { Redeployer, type RedeployEvent } from '../core/clones/redeploy';
import { redeployModes, type RedeployOn } from '../core/clones/spec/options';

/**
 * Redeploy on save / after a build task, the VS Code side: saves and task ends go to the core's
 * Redeployer of the current connection; its events become a status bar item while it deploys, a
 * status bar message when done, and an error notification (with its actions) when it fails.
 */
export interface RedeployWiring {
  /** A new connection (or none): the previous Redeployer ends, a new one starts for `env`. */
  restart(env: CloneEnv | undefined, namespace: string): Promise<void>;
}

function readEntries(file: string): SavedClone[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return readSavedClones(text, file);
}

/** The workload a Devlane debug session works on (launch: `clone`; attach: `namespace` + `pod`). */
function debugged(session: vscode.DebugSession): { namespace: string; cloneOf?: string; pod?: string } | undefined {
  const c = session.configuration as Record<string, unknown>;
  const src = c.clone;
  if (typeof src === 'string') {
    const parts = src.split('/');
    if (parts.length === 3) return { namespace: parts[0]!, cloneOf: `${parts[1]}/${parts[2]}` };
    if (parts.length === 2) return { namespace: parts[0]!, cloneOf: `Deployment/${parts[1]}` };
  } else if (src && typeof src === 'object') {
    const o = src as Record<string, unknown>;
    if (typeof o.namespace === 'string' && typeof o.name === 'string') return { namespace: o.namespace, cloneOf: `${typeof o.kind === 'string' ? o.kind : 'Deployment'}/${o.name}` };
  }
  if (typeof c.namespace === 'string' && typeof c.pod === 'string') return { namespace: c.namespace, pod: c.pod };
  return undefined;
}

export function registerRedeploy(ctx: DevlaneContext, deployerFor: (env: CloneEnv) => Deployer, workspaceRoot: () => string | undefined): RedeployWiring {
  let current: Redeployer | undefined;
  const item = ctx.own(vscode.window.createStatusBarItem('devlane.redeploy', vscode.StatusBarAlignment.Left, 40));
  item.name = 'Devlane Redeploy';

  const debugSessions = new Set<vscode.DebugSession>();
  if (vscode.debug.activeDebugSession) debugSessions.add(vscode.debug.activeDebugSession);
  ctx.own(vscode.debug.onDidStartDebugSession((s) => debugSessions.add(s)));
  ctx.own(vscode.debug.onDidTerminateDebugSession((s) => debugSessions.delete(s)));
  // A clone being debugged gets its classes replaced by the debug session; a restart would end it.
  const busy = (clone: CloneInfo) =>
    [...debugSessions].some((s) => {
      if (s.type !== 'devlane') return false;
      const d = debugged(s);
      return !!d && d.namespace === clone.ref.namespace && (d.cloneOf === clone.cloneOf || d.pod === clone.ref.name);
    });

  const defaultOn = (): RedeployOn => {
    const v = ctx.config.get('devlane.clone.redeployOn');
    return v && redeployModes.includes(v) ? v : 'manual';
  };
  // devlane.yaml's clone entries, read again only when the file changed: every save in the
  // workspace asks anyWants(), and a stat is all that costs — not a read, parse and validation.
  let entries: { readonly key: string; readonly value: SavedClone[] | DevlaneError } | undefined;
  const savedEntries = (root: string): SavedClone[] | DevlaneError => {
    const file = path.join(root, 'devlane.yaml');
    const st = fs.statSync(file, { throwIfNoEntry: false });
    const key = st ? `${file}:${st.mtimeMs}:${st.size}` : `${file}:none`;
    if (entries?.key !== key) {
      let value: SavedClone[] | DevlaneError;
      try {
        value = readEntries(file);
      } catch (e) {
        value = toDevlaneError(e);
      }
      entries = { key, value };
    }
    return entries.value;
  };

  /** Cheap check before anything reaches the cluster: does any workload redeploy on `mode`? */
  const anyWants = (mode: RedeployOn): boolean => {
    if (defaultOn() === mode) return true;
    const root = workspaceRoot();
    if (!root) return false;
    const saved = savedEntries(root);
    // A broken devlane.yaml is reported by its diagnostics, not on every save.
    return !(saved instanceof DevlaneError) && saved.some((e) => e.options.deploy?.on === mode);
  };

  const show = (e: RedeployEvent) => {
    switch (e.type) {
      case 'deploying':
        item.text = `$(sync~spin) ${path.basename(e.artifact)} → ${e.target.clone.ref.name}`;
        item.tooltip = `Devlane is redeploying to ${e.target.clone.ref.namespace}/${e.target.clone.ref.name} (${e.target.because})`;
        item.show();
        return;
      case 'deployed': {
        item.hide();
        const r = e.result;
        const what = r.unchanged ? 'unchanged, not restarted' : `${r.full ? 'full' : `${r.sentFiles} changed file(s)`}, up in ${(r.ms / 1000).toFixed(1)} s`;
        void vscode.window.setStatusBarMessage(`$(cloud-upload) ${path.basename(e.artifact)} → ${e.target.clone.ref.name}: ${what}`, 10_000);
        return;
      }
      case 'failed': {
        item.hide();
        const t = e.target;
        const err = toDevlaneError(e.error);
        const logs = t ? [{ title: 'Show Clone Log', command: 'devlane.pod.logs', args: [{ kind: 'Pod', namespace: t.clone.ref.namespace, name: t.clone.ref.name }] }] : [];
        void ctx.showError(err.actions.length > 0 || !t ? err : new DevlaneError(err.reason, `Redeploy to ${t.clone.ref.name} (${t.because}): ${err.message}`, { cause: err, actions: logs }));
        return;
      }
      case 'run':
      case 'idle':
        if (e.type === 'idle') item.hide();
        return;
    }
  };

  ctx.own(
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (!current || doc.uri.scheme !== 'file' || !anyWants('save')) return;
      current.trigger({ kind: 'save', path: doc.uri.fsPath });
    }),
  );
  ctx.own(
    vscode.tasks.onDidEndTaskProcess((e) => {
      const task = e.execution.task;
      if (!current || !anyWants('task')) return;
      current.trigger({ kind: 'task', name: task.name, build: task.group?.id === vscode.TaskGroup.Build.id, exitCode: e.exitCode });
    }),
  );

  return {
    async restart(env, namespace) {
      if (current) await ctx.sessions.end(current.id);
      current = undefined;
      item.hide();
      const root = workspaceRoot();
      if (!env || !root) return;
      const r = new Redeployer({
        workspace: root,
        config: async () => {
          const saved = savedEntries(root);
          if (saved instanceof DevlaneError) throw saved;
          return { entries: saved, defaultOn: defaultOn() };
        },
        listClones: () => listClones(env, [namespace]),
        deploy: (clone, artifact, signal) => deployerFor(env).deploy(clone.ref.namespace, clone.ref.name, { artifact, signal, skipIfUnchanged: true }),
        busy,
        log: ctx.logger,
      });
      r.onEvent(show);
      current = ctx.sessions.add(r);
    },
  };
}
