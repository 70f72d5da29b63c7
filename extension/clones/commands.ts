import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import { DevlaneError, isDevlaneError } from '../core/errors';
import { refOf, type ResourceRef } from '../core/kube/resourceRef';
import { readCloneOptionsFile, readSavedClones, saveCloneOptionsFile } from '../core/clones/config';
import { Deployer } from '../core/clones/deploy/deploy';
import { findArtifact } from '../core/clones/deploy/artifact';
import { CloneKeeper } from '../core/clones/keeper';
import { createClone, deleteClone, extendClone, listClones, restartApp, sourceKinds, type CloneEnv, type SourceKind } from '../core/clones/lifecycle';
import { ServerClock } from '../core/clones/serverClock';
import { cloneDescription } from '../core/clones/present';
import { ownerIdentity } from '../core/clones/spec/identity';
import { cloneDefaults, resolveOptions, type CloneOptions } from '../core/clones/spec/options';
import { createDeclaredClones, firstFailure, summarizeDeclared } from '../core/clones/declared';
import { registerRedeploy } from './redeploy';
import { sendRequestToClone } from './sendRequest';

/** The clone environment for one kubeconfig: who I am on it and its server's clock. */
function makeEnv(ctx: DevlaneContext, kc: KubeConfig): CloneEnv {
  const owner = ownerIdentity({ kubeUser: kc.getCurrentUser()?.name ?? '', osUser: os.userInfo().username, host: os.hostname() });
  return { kc, owner, clock: new ServerClock(kc), log: ctx.logger };
}

async function currentEnv(ctx: DevlaneContext): Promise<CloneEnv> {
  const loaded = await ctx.kube.require();
  return makeEnv(ctx, loaded.kc);
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function devlaneYaml(): string | undefined {
  const root = workspaceRoot();
  return root ? path.join(root, 'devlane.yaml') : undefined;
}

/**
 * A missing build output gets the two ways out as buttons: build it, or point devlane.yaml at
 * the right path.
 */
async function withArtifactActions(e: unknown, root: string): Promise<unknown> {
  if (!isDevlaneError(e) || e.reason !== 'artifact-missing') return e;
  const yaml = vscode.Uri.file(path.join(root, 'devlane.yaml'));
  const hasYaml = await Promise.resolve(vscode.workspace.fs.stat(yaml)).then(() => true, () => false);
  return new DevlaneError(e.reason, e.message, {
    cause: e,
    actions: [{ title: 'Run Build Task', command: 'workbench.action.tasks.build' }, ...(hasYaml ? [{ title: 'Open devlane.yaml', command: 'vscode.open', args: [yaml] }] : [])],
  });
}

/** The "My Clones" items of the *Cluster & Clones* tree. */
export async function cloneTreeItems(ctx: DevlaneContext): Promise<vscode.TreeItem[]> {
  const loaded = await ctx.kube.require();
  const env = makeEnv(ctx, loaded.kc);
  const clones = await listClones(env, [loaded.namespace]);
  // Ages and expiries are shown on the server's clock, the one the reaper judges by.
  const now = (await env.clock.now()).getTime();
  if (clones.length === 0) {
    const t = new vscode.TreeItem('No clones yet — Clone Pod… on a workload or pod');
    t.iconPath = new vscode.ThemeIcon('info');
    return [t];
  }
  return clones.map((c) => {
    const t = new vscode.TreeItem(c.ref.name, vscode.TreeItemCollapsibleState.None);
    t.id = `clone:${c.ref.namespace}/${c.ref.name}`;
    t.description = cloneDescription(c, now);
    t.tooltip = new vscode.MarkdownString(
      [`**${c.ref.namespace}/${c.ref.name}**`, `clone of ${c.cloneOf}`, `phase: ${c.phase}${c.reason ? ` (${c.reason})` : ''}`, `node: ${c.node ?? '-'}`, `expires: ${c.expiresAt?.toISOString() ?? '-'}`, `start: ${c.supervised ? 'keep-alive' : 'original command'}`].join('  \n'),
    );
    t.iconPath = new vscode.ThemeIcon(c.ready ? 'vm-running' : c.phase === 'Pending' ? 'vm-outline' : 'warning');
    t.contextValue = 'devlane.clone';
    (t as vscode.TreeItem & { ref: ResourceRef }).ref = c.ref;
    return t;
  });
}

/** Runs a long step with a cancellable notification; cancelling aborts the signal. */
function withProgress<T>(title: string, fn: (signal: AbortSignal, report: (m: string) => void) => Promise<T>): Promise<T> {
  return Promise.resolve(
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort());
      return fn(ac.signal, (message) => progress.report({ message })).finally(() => sub.dispose());
    }),
  );
}

type Pick<T> = vscode.QuickPickItem & { value: T };

async function pickSource(env: CloneEnv, defaultNamespace: string, arg: unknown): Promise<ResourceRef | undefined> {
  const ref = refOf(arg);
  if (ref && (sourceKinds as readonly string[]).includes(ref.kind)) return ref;
  let namespace = ref?.kind === 'Namespace' ? ref.name : undefined;
  const core = env.kc.makeApiClient(CoreV1Api);
  if (!namespace) {
    const saved = await savedClones();
    let names: string[] = [defaultNamespace];
    try {
      names = (await core.listNamespace()).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
    } catch {
      // Listing namespaces is often forbidden: offer the context's namespace.
    }
    const items: Pick<ResourceRef | string>[] = [
      ...saved.map((s) => ({ label: `$(bookmark) ${s.namespace}/${s.name}`, description: `${s.kind} from devlane.yaml`, value: { kind: s.kind as SourceKind, namespace: s.namespace, name: s.name } })),
      ...names.map((n) => ({ label: n, description: n === defaultNamespace ? 'current' : '', value: n })),
    ];
    const picked = await vscode.window.showQuickPick(items, { title: 'Clone Pod: namespace', placeHolder: 'Namespace of the workload or pod to clone' });
    if (!picked) return undefined;
    if (typeof picked.value !== 'string') return picked.value;
    namespace = picked.value;
  }
  const apps = env.kc.makeApiClient(AppsV1Api);
  const [deps, sts, pods] = await Promise.all([
    apps.listNamespacedDeployment({ namespace }).then((l) => l.items).catch(() => []),
    apps.listNamespacedStatefulSet({ namespace }).then((l) => l.items).catch(() => []),
    core.listNamespacedPod({ namespace }).then((l) => l.items).catch(() => []),
  ]);
  const items: Pick<ResourceRef>[] = [
    ...deps.map((d) => ({ label: `$(layers) ${d.metadata?.name}`, description: `Deployment · ${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`, value: { kind: 'Deployment' as const, namespace, name: d.metadata?.name ?? '' } })),
    ...sts.map((d) => ({ label: `$(database) ${d.metadata?.name}`, description: `StatefulSet · ${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`, value: { kind: 'StatefulSet' as const, namespace, name: d.metadata?.name ?? '' } })),
    ...pods
      .filter((p) => p.metadata?.labels?.['devlane.io/clone'] !== 'true')
      .map((p) => ({ label: `$(vm) ${p.metadata?.name}`, description: `Pod · ${p.status?.phase ?? ''}`, value: { kind: 'Pod' as const, namespace, name: p.metadata?.name ?? '' } })),
  ];
  if (items.length === 0) throw new DevlaneError('no-pods', `Namespace "${namespace}" has no workloads or pods to clone (or you may not list them).`);
  return (await vscode.window.showQuickPick(items, { title: `Clone Pod: workload or pod in ${namespace}` }))?.value;
}

async function savedClones() {
  const file = devlaneYaml();
  if (!file) return [];
  try {
    return readSavedClones(await vscode.workspace.fs.readFile(vscode.Uri.file(file)).then((b) => Buffer.from(b).toString('utf8')), file);
  } catch {
    return [];
  }
}

type Toggle = 'keepAlive' | 'liveness' | 'readiness' | 'startup' | 'jdwp' | 'suspend' | 'exceptions' | 'heapDump' | 'capture' | 'services' | 'pin' | 'save';

async function pickOptions(env: CloneEnv, ref: ResourceRef, saved: CloneOptions): Promise<{ options: CloneOptions; save: boolean } | undefined> {
  const items: (vscode.QuickPickItem & { id: Toggle })[] = [
    { id: 'keepAlive', label: 'Keep alive (supervisor)', description: 'the pod survives the app exiting; needed for deploy and restart', picked: saved.startCommand === 'keep-alive' },
    { id: 'liveness', label: 'Remove liveness probe', description: 'a JVM stopped at a breakpoint is not killed', picked: saved.removeProbes.liveness },
    { id: 'readiness', label: 'Remove readiness probe', picked: saved.removeProbes.readiness },
    { id: 'startup', label: 'Remove startup probe', picked: saved.removeProbes.startup },
    { id: 'jdwp', label: `Enable JDWP on port ${saved.jvm.jdwp.port}`, picked: saved.jvm.jdwp.enabled },
    { id: 'suspend', label: 'Suspend the JVM until a debugger attaches', picked: saved.jvm.jdwp.suspend },
    { id: 'exceptions', label: 'Log every thrown exception', picked: saved.jvm.exceptionLogging },
    { id: 'heapDump', label: 'Heap dump on OutOfMemoryError into /devlane', picked: saved.jvm.heapDumpOnOom },
    { id: 'capture', label: 'Capture packets from the start', description: `tcpdump ${saved.capture.mode === 'sidecar' ? `sidecar ${saved.capture.image}` : 'from the image'}`, picked: saved.capture.enabled },
    { id: 'services', label: "Stay in the original Services' selectors", description: 'the clone receives Service traffic', picked: saved.keepInServices },
    { id: 'pin', label: 'Pin to a node…', picked: !!saved.nodeName },
    { id: 'save', label: 'Save these options in devlane.yaml', picked: false },
  ];
  const chosen = await vscode.window.showQuickPick(items, { title: `Clone ${ref.kind} ${ref.namespace}/${ref.name}: options`, canPickMany: true });
  if (!chosen) return undefined;
  const on = (id: Toggle) => chosen.some((c) => c.id === id);
  let nodeName: string | undefined;
  if (on('pin')) {
    const nodes = await env.kc.makeApiClient(CoreV1Api).listNode().then((l) => l.items.map((n) => n.metadata?.name ?? '')).catch(() => [] as string[]);
    nodeName = nodes.length > 0 ? await vscode.window.showQuickPick(nodes, { title: 'Pin the clone to node' }) : await vscode.window.showInputBox({ title: 'Pin the clone to node', prompt: 'Node name' });
    if (!nodeName) return undefined;
  }
  const options = resolveOptions({
    ...saved,
    startCommand: on('keepAlive') ? 'keep-alive' : 'original',
    removeProbes: { liveness: on('liveness'), readiness: on('readiness'), startup: on('startup') },
    jvm: { ...saved.jvm, jdwp: { ...saved.jvm.jdwp, enabled: on('jdwp'), suspend: on('suspend') }, exceptionLogging: on('exceptions'), heapDumpOnOom: on('heapDump') },
    capture: { ...saved.capture, enabled: on('capture') },
    keepInServices: on('services'),
    ...(nodeName ? { nodeName } : { nodeName: undefined }),
  });
  return { options, save: on('save') };
}

async function pickClone(ctx: DevlaneContext, env: CloneEnv, arg: unknown, title: string): Promise<ResourceRef | undefined> {
  const ref = refOf(arg);
  if (ref?.kind === 'Clone') return ref;
  const loaded = await ctx.kube.require();
  const clones = await listClones(env, [loaded.namespace]);
  if (clones.length === 0) throw new DevlaneError('not-found', 'You have no clones yet. Use "Devlane: Clone Pod…" first.');
  if (clones.length === 1) return clones[0]!.ref;
  const now = (await env.clock.now()).getTime();
  return (await vscode.window.showQuickPick(clones.map((c) => ({ label: c.ref.name, description: `${c.ref.namespace} · ${cloneDescription(c, now)}`, value: c.ref })), { title }))?.value;
}

/** Registers the clone commands and keeps the heartbeat/reaper running for the current cluster. */
export function registerClones(ctx: DevlaneContext): void {
  let deployer: { kc: KubeConfig; deployer: Deployer } | undefined;
  let keeper: CloneKeeper | undefined;
  const deployerFor = (env: CloneEnv) => {
    if (deployer?.kc !== env.kc) deployer = { kc: env.kc, deployer: new Deployer(env) };
    return deployer.deployer;
  };
  const redeploy = registerRedeploy(ctx, deployerFor, workspaceRoot);
  // Connection changes can come in bursts (loading, connected): one keeper at a time, in order.
  let keeperChain: Promise<void> = Promise.resolve();
  const startKeeper = () => {
    keeperChain = keeperChain
      .then(async () => {
        if (keeper) await ctx.sessions.end(keeper.id);
        keeper = undefined;
        const s = ctx.kube.status;
        if (s.state !== 'connected') return redeploy.restart(undefined, '');
        const env = makeEnv(ctx, s.config.kc);
        const k = new CloneKeeper(env, { namespaces: () => [s.config.namespace] });
        keeper = ctx.sessions.add(k);
        k.start();
        await redeploy.restart(env, s.config.namespace);
      })
      .catch((e: unknown) => ctx.log.warn(`clone heartbeat: ${e instanceof Error ? e.message : String(e)}`));
  };
  ctx.own({ dispose: ctx.kube.onDidChange(() => startKeeper()).dispose });
  if (ctx.kube.status.state === 'connected') startKeeper();
  const active = () => keeper?.markActive();
  ctx.own(vscode.workspace.onDidChangeTextDocument(active));
  ctx.own(vscode.window.onDidChangeWindowState((w) => w.focused && active()));

  /** The clone defaults with the TTL setting applied. */
  const optionDefaults = (): CloneOptions => {
    const ttl = ctx.config.get('devlane.clone.ttlMinutes');
    return ttl && ttl >= 1 ? { ...cloneDefaults, ttlMinutes: ttl } : cloneDefaults;
  };

  const create = async (arg: unknown, forced?: Partial<CloneOptions>): Promise<void> => {
    active();
    const env = await currentEnv(ctx);
    const loaded = await ctx.kube.require();
    const ref = await pickSource(env, loaded.namespace, arg);
    if (!ref) return;
    const file = devlaneYaml();
    const key = { namespace: ref.namespace, kind: ref.kind, name: ref.name };
    const defaults = optionDefaults();
    const saved = file ? await readCloneOptionsFile(file, key, defaults) : resolveOptions({}, defaults);
    const chosen = forced ? { options: resolveOptions({ ...saved, ...forced } as Parameters<typeof resolveOptions>[0]), save: false } : await pickOptions(env, ref, saved);
    if (!chosen) return;
    if (chosen.save && file) await saveCloneOptionsFile(file, key, chosen.options);
    try {
      // The tree follows clone pods by itself (a watch): no refresh needed here.
      const created = await withProgress(`Cloning ${ref.kind} ${ref.namespace}/${ref.name}`, (signal, report) => createClone(env, ref, chosen.options, { signal, onProgress: report }));
      const info = created.info;
      const running = `Clone ${info.ref.namespace}/${info.ref.name} is running on ${info.node ?? 'its node'}`;
      // Without a lease nothing deletes the clone while VS Code is closed: the user must know.
      if (created.noLease) void vscode.window.showWarningMessage(`${running}; ${created.noLease}`);
      else void vscode.window.showInformationMessage(`${running}.`);
      if (created.notes.length) ctx.log.info(`clone ${info.ref.name}: ${created.notes.join('; ')}`);
    } catch (e) {
      if (isDevlaneError(e) && e.reason === 'no-shell') {
        const again = 'Clone with Original Command';
        if ((await vscode.window.showErrorMessage(e.message, again)) === again) await create(ref, { startCommand: 'original' });
        return;
      }
      throw e;
    }
  };
  ctx.registerCommand('devlane.clone.create', (target) => create(target));

  ctx.registerCommand('devlane.clone.createFromYaml', async () => {
    active();
    const root = workspaceRoot();
    const file = devlaneYaml();
    if (!root || !file) throw new DevlaneError('invalid-input', 'Open the project folder that holds devlane.yaml first: its "clones:" entries say what to create.');
    let text: string;
    try {
      text = Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.file(file))).toString('utf8');
    } catch {
      throw new DevlaneError('not-found', `There is no devlane.yaml in ${root}. Clone a workload with "Save these options in devlane.yaml" checked, or add entries under "clones:".`, {
        actions: [{ title: 'Clone Pod…', command: 'devlane.clone.create' }],
      });
    }
    const entries = readSavedClones(text, file);
    if (entries.length === 0) {
      throw new DevlaneError('invalid-input', `${file} declares no clones. Add entries under "clones:" ({namespace, kind, name, …options}) or save options when cloning.`, {
        actions: [{ title: 'Open devlane.yaml', command: 'vscode.open', args: [vscode.Uri.file(file)] }],
      });
    }
    const env = await currentEnv(ctx);
    const defaults = optionDefaults();
    const outcomes = await withProgress(`Creating ${entries.length} clone(s) from devlane.yaml`, (signal, report) =>
      createDeclaredClones(env, entries, { signal, defaults, onProgress: (m, done, total) => report(`(${done}/${total}) ${m}`) }),
    );
    const summary = summarizeDeclared(outcomes);
    ctx.log.info(summary);
    const failure = firstFailure(outcomes);
    if (failure) throw new DevlaneError(failure.reason, `${summary} ${failure.message}`, { cause: failure, actions: failure.actions });
    void vscode.window.showInformationMessage(summary);
  });

  ctx.registerCommand('devlane.clone.deploy', async (arg) => {
    active();
    const env = await currentEnv(ctx);
    const ref = await pickClone(ctx, env, arg, 'Deploy to which clone?');
    if (!ref) return;
    const root = workspaceRoot();
    if (!root) throw new DevlaneError('artifact-missing', 'Open the project folder first: Devlane deploys its build output (target/*.jar, build/libs/*.jar or deploy.artifact in devlane.yaml).');
    const clone = (await listClones(env, [ref.namespace])).find((c) => c.ref.name === ref.name && c.ref.namespace === ref.namespace);
    let artifact: string;
    try {
      artifact = findArtifact(root, clone?.options?.deploy.artifact);
    } catch (e) {
      throw await withArtifactActions(e, root);
    }
    const result = await withProgress(`Deploying ${path.basename(artifact)} to ${ref.name}`, (signal, report) => deployerFor(env).deploy(ref.namespace, ref.name, { artifact, signal, onProgress: report })).catch(async (e: unknown) => {
      throw await withArtifactActions(e, root);
    });
    void vscode.window.setStatusBarMessage(`$(cloud-upload) ${path.basename(artifact)} → ${ref.name}: ${result.full ? 'full' : `${result.sentFiles} changed file(s)`}, up in ${(result.ms / 1000).toFixed(1)} s`, 10_000);
  });

  ctx.registerCommand('devlane.clone.delete', async (arg) => {
    const env = await currentEnv(ctx);
    const ref = await pickClone(ctx, env, arg, 'Delete which clone?');
    if (!ref) return;
    const yes = 'Delete';
    if ((await vscode.window.showWarningMessage(`Delete clone ${ref.namespace}/${ref.name}?`, { modal: true }, yes)) !== yes) return;
    await deleteClone(env, ref.namespace, ref.name);
    deployer?.deployer.forget(ref.namespace, ref.name);
  });

  ctx.registerCommand('devlane.clone.extend', async (arg) => {
    active();
    const env = await currentEnv(ctx);
    const ref = await pickClone(ctx, env, arg, 'Extend which clone?');
    if (!ref) return;
    const choice = await vscode.window.showQuickPick(
      [30, 60, 120, 240, 480].map((m) => ({ label: m < 60 ? `${m} minutes` : `${m / 60} hour${m > 60 ? 's' : ''}`, value: m })),
      { title: `Keep ${ref.name} for at least…` },
    );
    if (!choice) return;
    const until = await extendClone(env, ref.namespace, ref.name, choice.value);
    void vscode.window.setStatusBarMessage(`$(clock) ${ref.name} now expires at ${until.toLocaleTimeString()}`, 5_000);
  });

  ctx.registerCommand('devlane.clone.sendRequest', async (arg) => {
    active();
    const env = await currentEnv(ctx);
    const ref = await pickClone(ctx, env, arg, 'Send a request to which clone?');
    if (!ref) return;
    const clone = (await listClones(env, [ref.namespace])).find((c) => c.ref.name === ref.name && c.ref.namespace === ref.namespace);
    await sendRequestToClone(ctx, env, ref, clone?.options?.deploy.readinessPort);
  });

  ctx.registerCommand('devlane.clone.restartApp', async (arg) => {
    active();
    const env = await currentEnv(ctx);
    const ref = await pickClone(ctx, env, arg, 'Restart the app in which clone?');
    if (!ref) return;
    await restartApp(env, ref.namespace, ref.name);
    void vscode.window.setStatusBarMessage(`$(debug-restart) restarting the app in ${ref.name}`, 5_000);
  });
}
