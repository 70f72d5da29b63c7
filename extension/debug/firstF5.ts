import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { debugType } from '../ids';
import { readSavedClones, type SavedClone } from '../core/clones/config';
import { debugCandidates, type DebugCandidate } from '../core/debug/candidates';
import type { RankedCandidate } from '../core/debug/likelyWorkload';
import { launchConfigurationFor } from './targetPicks';
import { offerToSave } from './offerToSave';

/**
 * F5 in a workspace without a launch configuration: what Devlane is for comes first — debugging a
 * workload in your clone, the likeliest one for the open file's module on top — then attaching to
 * a JVM in a pod or on this machine. The pick opens at once and fills in as the cluster answers.
 */

type Item = vscode.QuickPickItem & { readonly config?: vscode.DebugConfiguration; readonly candidate?: DebugCandidate };

const attachInPod: Item = {
  label: '$(plug) Attach to a JVM in a pod…',
  description: 'through a port-forward',
  config: { type: debugType, request: 'attach', name: 'Devlane: Attach to a JVM in a pod', kubernetes: {} },
};
const attachLocal: Item = {
  label: '$(debug-alt) Attach to a JVM on this machine…',
  description: 'a JDWP port',
  config: { type: debugType, request: 'attach', name: 'Devlane: Attach to JVM' },
};

/** The configuration to run for a bare F5, or undefined when the pick was dismissed. */
export async function pickFirstDebug(ctx: DevlaneContext, folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration | undefined> {
  const root = folder ?? vscode.workspace.workspaceFolders?.[0];
  const pick = vscode.window.createQuickPick<Item>();
  pick.title = 'Debug with Devlane';
  pick.placeholder = 'Debug a workload in your own clone (its build deployed into it), or attach to a JVM';
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  pick.busy = true;
  pick.items = [separator('Attach'), attachInPod, attachLocal];
  const chosen = new Promise<Item | undefined>((resolve) => {
    pick.onDidAccept(() => resolve(pick.selectedItems[0]));
    pick.onDidHide(() => resolve(undefined));
  });
  pick.show();
  void loadCandidates(ctx, root).then((loaded) => {
    pick.busy = false;
    pick.items = [...loaded.items, separator('Attach'), attachInPod, attachLocal];
    const first = loaded.items.find((i) => i.candidate);
    if (first) pick.activeItems = [first];
  });
  const item = await chosen;
  pick.dispose();
  if (!item?.candidate) return item?.config;
  const c = item.candidate;
  const preLaunchTask = await buildTaskFor(c);
  const config = launchConfigurationFor(c, preLaunchTask) as vscode.DebugConfiguration;
  // Not awaited: the session starts now; the offer stays until answered or dismissed.
  void offerToSave(ctx, root, c, { preLaunchTask, inDevlaneYaml: c.inDevlaneYaml });
  return config;
}

/**
 * For "create a launch.json file": a launch configuration for the likeliest workload (with its
 * build task), or undefined when the cluster lists none.
 */
export async function likelyLaunchConfiguration(ctx: DevlaneContext, folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration | undefined> {
  const root = folder ?? vscode.workspace.workspaceFolders?.[0];
  const { items } = await loadCandidates(ctx, root);
  const c = items.find((i) => i.candidate)?.candidate;
  return c ? (launchConfigurationFor(c, await buildTaskFor(c)) as vscode.DebugConfiguration) : undefined;
}

function separator(label: string): Item {
  return { label, kind: vscode.QuickPickItemKind.Separator };
}

async function loadCandidates(ctx: DevlaneContext, root: vscode.WorkspaceFolder | undefined): Promise<{ items: Item[] }> {
  const workspace = root?.uri.fsPath ?? '';
  const saved = root ? await savedClones(root) : [];
  const active = vscode.window.activeTextEditor?.document.uri;
  let ranked: RankedCandidate<DebugCandidate>[] = [];
  let problem: string | undefined;
  try {
    const kube = await ctx.kube.require();
    const found = await debugCandidates({ kc: kube.kc, namespace: kube.namespace, saved, workspace, ...(active?.scheme === 'file' ? { activeFile: active.fsPath } : {}) });
    ranked = found.ranked;
    if (found.listError) {
      problem = found.listError.message;
      ctx.log.warn(`F5: listing workloads: ${found.listError.message}`);
    }
  } catch (e) {
    problem = e instanceof Error ? e.message : String(e);
  }
  const items: Item[] = [];
  if (ranked.length) items.push(separator('Debug in your clone'));
  for (const [i, r] of ranked.entries()) {
    const c = r.candidate;
    items.push({
      label: `$(copy) ${c.name}`,
      description: `${c.kind} ${c.namespace}/${c.name}${i === 0 && r.score > 0 ? ' · likeliest' : ''}`,
      detail: [r.reason, c.readiness, c.images.join(', ') || undefined, c.inDevlaneYaml && !r.reason.includes('devlane.yaml') ? 'in devlane.yaml' : undefined].filter(Boolean).join(' · '),
      candidate: c,
    });
  }
  if (problem) items.push({ label: '$(warning) The cluster\'s workloads are not listed', detail: problem, alwaysShow: true });
  return { items };
}

async function savedClones(root: vscode.WorkspaceFolder): Promise<SavedClone[]> {
  try {
    const text = Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.file(path.join(root.uri.fsPath, 'devlane.yaml')))).toString('utf8');
    return readSavedClones(text);
  } catch {
    return [];
  }
}

/**
 * The build to run before deploying: a build task named after the workload ("build orders"), else
 * the default build task, else the only build task. None: whatever was built last is deployed.
 */
async function buildTaskFor(c: DebugCandidate): Promise<string | undefined> {
  let tasks: vscode.Task[];
  try {
    tasks = await vscode.tasks.fetchTasks();
  } catch {
    return undefined;
  }
  const builds = tasks.filter((t) => t.group?.id === vscode.TaskGroup.Build.id);
  const named = builds.find((t) => t.name.split(/[^A-Za-z0-9-]+/).includes(c.name));
  const picked = named ?? builds.find((t) => t.group?.isDefault) ?? (builds.length === 1 ? builds[0] : undefined);
  return picked?.name;
}
