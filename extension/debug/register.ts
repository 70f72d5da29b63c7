import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { debugType } from '../ids';
import { Emitter } from '../core/events';
import { DevlaneError, toDevlaneError } from '../core/errors';
import { readSavedClones } from '../core/clones/config';
import { withContext, type LoadedKubeconfig } from '../core/kube/kubeconfig';
import { Deployer } from '../core/clones/deploy/deploy';
import { restartApp, type CloneEnv } from '../core/clones/lifecycle';
import { ServerClock } from '../core/clones/serverClock';
import { ownerIdentity } from '../core/clones/spec/identity';
import type { Session, SessionStatus } from '../core/sessions/session';
import { resolveAttachConfiguration, resolveLaunchConfiguration, type DevlaneDebugConfiguration } from '../../debug-adapter/dap/config';
import { launchTargetEnv, type LaunchTarget } from '../../debug-adapter/dap/types';
import { discoverJdwpPort, jdwpPortOf } from '../../debug-adapter/kube/jdwpPort';
import { parseCloneSource, prepareLaunch, type LaunchTarget as PreparedLaunch } from './launch';
import { classOutputDirs, hotReplaceSummary } from './hotReplace';
import { containerChoices, contextChoices, namespaceChoices, needsContextPick, workloadChoices, type WorkloadChoice } from './targetPicks';
import { likelyLaunchConfiguration, pickFirstDebug } from './firstF5';
import { offerToSave } from './offerToSave';

/**
 * F5 for `devlane` configurations. The adapter runs as its own Node process (dist/debug-adapter.js)
 * rather than inline: a JVM can send anything, and whatever the adapter does with it must never take
 * the extension host (tunnels, clones, views) down with it; a separate process also keeps JDWP
 * traffic and its buffers off the host's event loop. The cost is one short-lived process per session.
 */
export function registerDebug(ctx: DevlaneContext): void {
  const adapter = path.join(ctx.extension.extensionPath, 'dist', 'debug-adapter.js');
  const launcher = new Launcher(ctx);
  ctx.own(
    vscode.debug.registerDebugAdapterDescriptorFactory(debugType, {
      createDebugAdapterDescriptor: async (session) => {
        const env: Record<string, string> = { ELECTRON_RUN_AS_NODE: '1' };
        if (session.configuration.request === 'launch') {
          // Here, not in resolveDebugConfiguration: VS Code runs the preLaunchTask (the build)
          // between the two, and the deploy must send what it built.
          const target = await launcher.prepare(session);
          if (!target) return new vscode.DebugAdapterInlineImplementation(new EndedAdapter());
          env[launchTargetEnv] = JSON.stringify(target);
        }
        // Inside VS Code process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node.
        return new vscode.DebugAdapterExecutable(process.execPath, [adapter], { env });
      },
    }),
  );
  ctx.own(vscode.debug.registerDebugConfigurationProvider(debugType, new DevlaneConfigurationProvider(ctx)));

  // "Stop" on a launch session restarts the app in the clone; "Disconnect" leaves it running.
  const restartOnExit = new Set<string>();
  ctx.own(
    vscode.debug.registerDebugAdapterTrackerFactory(debugType, {
      createDebugAdapterTracker: (s) =>
        s.configuration.request !== 'launch'
          ? undefined
          : {
              onWillReceiveMessage: (m: { command?: string; arguments?: { terminateDebuggee?: boolean } }) => {
                if (m.command === 'terminate' || (m.command === 'disconnect' && m.arguments?.terminateDebuggee === true)) restartOnExit.add(s.id);
              },
            },
    }),
  );

  // Each running debug session is a Devlane session too: listed with the others, ended on deactivate.
  const live = new Map<string, DebugAttachment>();
  const running = new Map<string, vscode.DebugSession>();
  ctx.own(
    vscode.debug.onDidStartDebugSession((s) => {
      if (s.type !== debugType) return;
      const a = ctx.sessions.add(new DebugAttachment(s, launcher.targetOf(s.id)));
      live.set(s.id, a);
      running.set(s.id, s);
    }),
  );
  ctx.registerCommand('devlane.debug.hotReplace', async () => {
    // The active session when it is Devlane's, else the one started last.
    const active = vscode.debug.activeDebugSession;
    const session = active?.type === debugType ? active : [...running.values()].pop();
    if (!session) throw new DevlaneError('invalid-input', 'No Devlane debug session is running. Start one (F5), build, then run Hot Replace Classes to send the changed classes to its JVM.');
    const workspace = session.workspaceFolder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const dirs = classOutputDirs(workspace, launcher.targetOf(session.id)?.artifact);
    if (dirs.length === 0) throw new DevlaneError('artifact-missing', `No class output folder found in ${workspace ?? 'the workspace'} (target/classes, build/classes/java/main, out/production, bin). Build the project first.`);
    const r = (await session.customRequest('redefineClasses', { outputDirs: dirs })) as { redefined: string[] };
    const summary = hotReplaceSummary(r.redefined);
    ctx.log.info(r.redefined.length ? `hot-replaced ${r.redefined.join(', ')} in ${session.name} (command)` : `hot replace in ${session.name}: ${summary} in ${dirs.join(', ')}`);
    void vscode.window.setStatusBarMessage(`$(flame) ${summary}`, 5_000);
    if (r.redefined.length === 0) void vscode.window.showInformationMessage(`Nothing to hot-replace: ${summary}. Build first; only classes the JVM has loaded are replaced.`);
  });
  ctx.own(launcher);
  ctx.own(
    vscode.debug.onDidTerminateDebugSession((s) => {
      const target = launcher.forget(s.id);
      if (target && restartOnExit.delete(s.id)) void launcher.restart(target);
      running.delete(s.id);
      const a = live.get(s.id);
      if (!a) return;
      live.delete(s.id);
      a.markStopped();
      void ctx.sessions.end(a.id);
    }),
  );
}

/**
 * Hot code replace from the editor: when a build task ends well during a launched session (the
 * preLaunchTask's build run again, or any task), the classes it rewrote in the session's output
 * folder go to the JVM in the clone at once (new method bodies), without a deploy and restart.
 * The adapter picks the classes by modification time, so a task that built nothing replaces nothing.
 */
function hotReplaceOnRebuild(ctx: DevlaneContext, session: vscode.DebugSession, outputDir: string): vscode.Disposable {
  const replace = async () => {
    try {
      const r = (await session.customRequest('redefineClasses', { outputDir })) as { redefined: string[] };
      if (r.redefined.length === 0) {
        ctx.log.debug(`the build changed no class in ${outputDir} that the JVM has loaded`);
        return;
      }
      ctx.log.info(`hot-replaced ${r.redefined.join(', ')} in ${session.name}`);
      void vscode.window.setStatusBarMessage(`$(flame) hot-replaced ${r.redefined.length} class(es)`, 5_000);
    } catch (e) {
      void ctx.showError(toDevlaneError(e));
    }
  };
  return vscode.tasks.onDidEndTaskProcess((e) => {
    if (e.exitCode === 0) void replace();
  });
}

/** The clone environment the clone commands use too: the same owner, so F5 reuses their clones. */
function cloneEnv(ctx: DevlaneContext, kc: KubeConfig): CloneEnv {
  const owner = ownerIdentity({ kubeUser: kc.getCurrentUser()?.name ?? '', osUser: os.userInfo().username, host: os.hostname() });
  return { kc, owner, clock: new ServerClock(kc), log: ctx.logger };
}

/** Runs the launch flow for sessions and remembers which clone each one debugs. */
class Launcher implements vscode.Disposable {
  private deployer: { kc: KubeConfig; deployer: Deployer } | undefined;
  private readonly targets = new Map<string, PreparedLaunch & { env: CloneEnv }>();
  private readonly replacers = new Map<string, vscode.Disposable>();

  constructor(private readonly ctx: DevlaneContext) {}

  targetOf(sessionId: string): PreparedLaunch | undefined {
    return this.targets.get(sessionId);
  }

  forget(sessionId: string): (PreparedLaunch & { env: CloneEnv }) | undefined {
    const t = this.targets.get(sessionId);
    this.targets.delete(sessionId);
    this.replacers.get(sessionId)?.dispose();
    this.replacers.delete(sessionId);
    return t;
  }

  dispose(): void {
    this.replacers.forEach((r) => r.dispose());
    this.replacers.clear();
  }

  /** The pod to attach to, or undefined after the error was shown (or the user cancelled). */
  async prepare(session: vscode.DebugSession): Promise<LaunchTarget | undefined> {
    const c = session.configuration as DevlaneDebugConfiguration;
    try {
      const source = parseCloneSource(c.clone);
      const workspace = session.workspaceFolder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      if (!workspace) throw new DevlaneError('artifact-missing', 'Open the project folder first: a launch deploys its build output.');
      const loaded = await kubeFor(this.ctx, typeof c.context === 'string' ? c.context : undefined);
      const env = cloneEnv(this.ctx, loaded.kc);
      if (this.deployer?.kc !== loaded.kc) this.deployer = { kc: loaded.kc, deployer: new Deployer(env) };
      const deployer = this.deployer.deployer;
      const prepared = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Debugging ${source.kind} ${source.namespace}/${source.name} in your clone`, cancellable: true },
        async (progress, token) => {
          const ac = new AbortController();
          const sub = token.onCancellationRequested(() => ac.abort());
          try {
            return await prepareLaunch(env, deployer, {
              source,
              workspace,
              ...(c.artifact !== undefined ? { artifact: c.artifact as string | false } : {}),
              ...(typeof c.jdwpPort === 'number' ? { jdwpPort: c.jdwpPort } : {}),
              ...(typeof c.container === 'string' && c.container ? { container: c.container } : {}),
              signal: ac.signal,
              onProgress: (message) => {
                this.ctx.log.info(`launch ${session.name}: ${message}`);
                progress.report({ message });
              },
            });
          } finally {
            sub.dispose();
          }
        },
      );
      this.ctx.log.info(
        `launch ${session.name}: ${prepared.created ? 'created' : 'reused'} clone ${prepared.namespace}/${prepared.pod}${prepared.deployed ? `, deployed ${prepared.deployed.full ? 'everything' : `${prepared.deployed.sentFiles} changed file(s)`}` : ''}, JDWP on port ${prepared.port}, ready in ${prepared.ms} ms`,
      );
      void vscode.commands.executeCommand('devlane.refresh');
      this.targets.set(session.id, { ...prepared, env });
      if (prepared.artifact && fs.statSync(prepared.artifact, { throwIfNoEntry: false })?.isDirectory()) this.replacers.set(session.id, hotReplaceOnRebuild(this.ctx, session, prepared.artifact));
      return {
        namespace: prepared.namespace,
        pod: prepared.pod,
        port: prepared.port,
        context: loaded.context,
        // The adapter process reads one file; several (KUBECONFIG=a:b) reach it through its inherited environment.
        ...(loaded.files.length === 1 ? { kubeconfig: loaded.files[0]! } : {}),
      };
    } catch (e) {
      void this.ctx.showError(e);
      return undefined;
    }
  }

  async restart(target: PreparedLaunch & { env: CloneEnv }): Promise<void> {
    try {
      await restartApp(target.env, target.namespace, target.pod);
      this.ctx.log.info(`restarted the app in ${target.namespace}/${target.pod} (debug session stopped)`);
      void vscode.window.setStatusBarMessage(`$(debug-restart) restarting the app in ${target.pod}`, 5_000);
    } catch (e) {
      void this.ctx.showError(toDevlaneError(e));
    }
  }
}

/**
 * Stands in for the adapter when a launch failed before there was anything to attach to: the
 * error was already shown once, with its actions, so the session just ends without a second one.
 */
class EndedAdapter implements vscode.DebugAdapter {
  private readonly emitter = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.emitter.event;
  private seq = 1;

  handleMessage(message: vscode.DebugProtocolMessage): void {
    const m = message as { seq: number; command: string };
    this.emitter.fire({ seq: this.seq++, type: 'response', request_seq: m.seq, success: true, command: m.command, body: {} } as vscode.DebugProtocolMessage);
    if (m.command === 'launch') this.emitter.fire({ seq: this.seq++, type: 'event', event: 'terminated' } as vscode.DebugProtocolMessage);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

class DevlaneConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly ctx: DevlaneContext) {}

  private pickPod(c: DevlaneDebugConfiguration): Promise<boolean> {
    return pickPodTarget(this.ctx, c);
  }

  /** "Create a launch.json file": the likeliest workload of the cluster, else a template to fill in. */
  async provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration[]> {
    const likely = await likelyLaunchConfiguration(this.ctx, folder).catch(() => undefined);
    return [
      likely ?? { type: debugType, request: 'launch', name: 'Devlane: Debug in my clone', clone: { namespace: 'default', kind: 'Deployment', name: 'my-app' }, preLaunchTask: 'mvn: package' },
      { type: debugType, request: 'attach', name: 'Devlane: Attach to JVM', hostName: '127.0.0.1', port: 5005 },
    ];
  }

  /** F5 without a launch.json, or a configuration missing its port: ask for what cannot be defaulted. */
  async resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    const c = { ...config } as DevlaneDebugConfiguration;
    try {
      if (!c.type && !c.request && !c.name) {
        // F5 without a launch configuration: debugging in a clone is offered first.
        const first = await pickFirstDebug(this.ctx, folder);
        if (!first) return undefined;
        Object.assign(c, first);
      }
      if (c.request === 'launch') {
        if (c.clone === undefined) {
          const picked = await pickLaunchTarget(this.ctx, folder, c);
          if (!picked) return undefined;
          c.clone = { namespace: picked.namespace, kind: picked.kind, name: picked.name };
          if (picked.container) c.container = picked.container;
          if (picked.context) c.context = picked.context;
          // Not awaited: the session starts now; the offer stays until answered or dismissed.
          if (picked.fromCluster) void offerToSave(this.ctx, folder ?? vscode.workspace.workspaceFolders?.[0], picked, { ...(typeof c.preLaunchTask === 'string' ? { preLaunchTask: c.preLaunchTask } : {}), inDevlaneYaml: false });
        }
        const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
        return resolveLaunchConfiguration(c, folders) as vscode.DebugConfiguration;
      }
      if (c.request === 'attach' && c.kubernetes !== undefined && !(await this.pickPod(c))) return undefined;
      if (c.request === 'attach' && (c.port === undefined || c.port === '')) {
        const answer = await vscode.window.showInputBox({
          title: 'Attach to a JVM',
          prompt: 'The JDWP port the JVM listens on (-agentlib:jdwp=…,address=PORT)',
          value: '5005',
          validateInput: (v) => (/^\d+$/.test(v) && Number(v) > 0 && Number(v) < 65536 ? undefined : 'A port number, 1–65535'),
        });
        if (answer === undefined) return undefined;
        c.port = Number(answer);
      }
      const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
      return resolveAttachConfiguration(c, folders) as vscode.DebugConfiguration;
    } catch (e) {
      void this.ctx.showError(e);
      return undefined;
    }
  }
}

/** The cluster connection for a configuration's context: Devlane's own unless it names another. */
async function kubeFor(ctx: DevlaneContext, context: string | undefined): Promise<LoadedKubeconfig> {
  const loaded = await ctx.kube.require();
  return context ? withContext(loaded, context) : loaded;
}

/** Asks for the context when the configuration names none, Devlane's settings neither, and there are several. */
async function pickContext(ctx: DevlaneContext, configured: string | undefined): Promise<{ context?: string } | undefined> {
  const loaded = await ctx.kube.require();
  const contexts = loaded.kc.getContexts().map((x) => x.name);
  if (!needsContextPick(contexts, configured, ctx.config.get('devlane.context'))) return configured ? { context: configured } : {};
  const picked = await vscode.window.showQuickPick(contextChoices(contexts, loaded.context), { title: 'Debug: which cluster?', placeHolder: 'Kubernetes context' });
  return picked === undefined ? undefined : { context: picked };
}

async function pickNamespace(kc: KubeConfig, current: string, title: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
  } catch {
    // Listing namespaces is often forbidden to developers; they still know theirs.
    return vscode.window.showInputBox({ title, prompt: 'Namespace', value: current, validateInput: (v) => (v.trim() ? undefined : 'A namespace name') });
  }
  return vscode.window.showQuickPick(namespaceChoices(names, current), { title, placeHolder: 'Namespace' });
}

/** Picks one container when the spec has several and the configuration names none of them. */
async function pickContainer(spec: V1Pod['spec'], configured: string | undefined, title: string): Promise<{ container?: string } | undefined> {
  const choices = spec ? containerChoices(spec, configured) : [];
  if (choices.length === 0) return configured ? { container: configured } : {};
  const picked = await vscode.window.showQuickPick(choices, { title, placeHolder: 'Container whose JVM to debug' });
  return picked === undefined ? undefined : { container: picked };
}

interface PickedLaunch {
  readonly namespace: string;
  readonly kind: WorkloadChoice['kind'];
  readonly name: string;
  readonly container?: string;
  readonly context?: string;
  /** Picked from the cluster (not from devlane.yaml): worth offering to save. */
  readonly fromCluster: boolean;
}

/**
 * The workload of a launch without "clone": one saved in devlane.yaml, or one picked from the
 * cluster — context (when several and none chosen) → namespace → workload → container.
 */
async function pickLaunchTarget(ctx: DevlaneContext, folder: vscode.WorkspaceFolder | undefined, c: DevlaneDebugConfiguration): Promise<PickedLaunch | undefined> {
  const title = 'Debug in your clone of…';
  const root = folder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  let saved: { namespace: string; kind: string; name: string }[] = [];
  if (root) {
    try {
      saved = readSavedClones(Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.file(path.join(root, 'devlane.yaml')))).toString('utf8'));
    } catch {
      saved = [];
    }
  }
  if (saved.length > 0) {
    const other = { label: '$(search) Another workload in the cluster…', w: undefined };
    const picked = await vscode.window.showQuickPick([...saved.map((w) => ({ label: `${w.namespace}/${w.name}`, description: w.kind, w })), other], { title, placeHolder: 'Workload from devlane.yaml' });
    if (!picked) return undefined;
    if (picked.w) {
      const source = parseCloneSource({ namespace: picked.w.namespace, kind: picked.w.kind, name: picked.w.name });
      return { ...source, ...(typeof c.context === 'string' ? { context: c.context } : {}), fromCluster: false };
    }
  }
  const context = await pickContext(ctx, typeof c.context === 'string' ? c.context : undefined);
  if (!context) return undefined;
  const loaded = await kubeFor(ctx, context.context);
  const namespace = await pickNamespace(loaded.kc, loaded.namespace, title);
  if (!namespace) return undefined;
  const apps = loaded.kc.makeApiClient(AppsV1Api);
  const [deployments, statefulSets, replicaSets, pods] = await Promise.all([
    apps.listNamespacedDeployment({ namespace }),
    apps.listNamespacedStatefulSet({ namespace }),
    apps.listNamespacedReplicaSet({ namespace }),
    loaded.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace }),
  ]);
  const choices = workloadChoices(namespace, { deployments: deployments.items, statefulSets: statefulSets.items, replicaSets: replicaSets.items, pods: pods.items });
  if (choices.length === 0) throw new DevlaneError('no-pods', `Nothing to debug in namespace ${namespace}: no Deployment, StatefulSet, ReplicaSet or running pod. Pick another namespace, or deploy the app first.`);
  const items: (vscode.QuickPickItem & { w?: WorkloadChoice })[] = [];
  for (const w of choices) {
    if (items.length === 0 || items[items.length - 1]?.w?.kind !== w.kind) items.push({ label: w.kind === 'Pod' ? 'Pods' : `${w.kind}s`, kind: vscode.QuickPickItemKind.Separator });
    items.push({ label: w.name, description: w.kind, detail: w.detail, w });
  }
  const picked = await vscode.window.showQuickPick(items, { title: `${title} (${namespace})`, placeHolder: 'Workload', matchOnDetail: true });
  if (!picked?.w) return undefined;
  const container = await pickContainer(picked.w.spec, typeof c.container === 'string' ? c.container : undefined, `${title} ${picked.w.name}`);
  if (!container) return undefined;
  return { namespace, kind: picked.w.kind, name: picked.w.name, ...container, ...context, fromCluster: true };
}

type KubernetesTarget = { kubeconfig?: string; context?: string; namespace?: string; pod?: string; container?: string };

/** Fills the pod target of an attach: context and kubeconfig from Devlane's connection, the rest picked. */
async function pickPodTarget(ctx: DevlaneContext, c: DevlaneDebugConfiguration): Promise<boolean> {
  const k = { ...((c.kubernetes ?? {}) as KubernetesTarget) };
  const context = await pickContext(ctx, k.context);
  if (!context) return false;
  const loaded = await kubeFor(ctx, context.context);
  k.context ??= loaded.context;
  // The adapter process reads one file; several (KUBECONFIG=a:b) reach it through its inherited environment.
  if (!k.kubeconfig && loaded.files.length === 1) k.kubeconfig = loaded.files[0];
  const core = loaded.kc.makeApiClient(CoreV1Api);
  if (!k.namespace) {
    const picked = await pickNamespace(loaded.kc, loaded.namespace, 'Attach to a JVM in a pod');
    if (!picked) return false;
    k.namespace = picked;
  }
  let pod: V1Pod | undefined;
  if (!k.pod) {
    const pods = (await core.listNamespacedPod({ namespace: k.namespace })).items.filter((p) => p.status?.phase === 'Running');
    if (!pods.length) throw new DevlaneError('no-pods', `No running pods in namespace ${k.namespace}.`);
    const picked = await vscode.window.showQuickPick(
      pods.map((p) => ({ label: p.metadata?.name ?? '', description: jdwpPortOf(p) ? `JDWP port ${jdwpPortOf(p)}` : 'no JDWP port found in its spec', pod: p })),
      { title: 'Attach to a JVM in a pod', placeHolder: 'Pod' },
    );
    if (!picked) return false;
    k.pod = picked.label;
    pod = picked.pod;
  }
  if (c.port === undefined || c.port === '') {
    pod ??= await core.readNamespacedPod({ name: k.pod, namespace: k.namespace });
    // Which container's JVM: asked only when there are several; the port is then looked up there.
    const container = await pickContainer(pod.spec, k.container, `Attach to a JVM in ${k.pod}`);
    if (!container) return false;
    if (container.container) k.container = container.container;
    const found = await discoverJdwpPort(loaded.kc, pod, k.container);
    if (found) c.port = found;
  }
  c.kubernetes = k;
  return true;
}

/** A `devlane` debug session as seen by the session registry; ending it stops the debug session. */
class DebugAttachment implements Session {
  readonly kind = 'debug' as const;
  readonly id: string;
  readonly label: string;
  private state: SessionStatus = { state: 'running' };
  private readonly changes = new Emitter<SessionStatus>();
  readonly onDidChangeStatus = this.changes.event;

  constructor(
    private readonly session: vscode.DebugSession,
    launched?: PreparedLaunch,
  ) {
    this.id = `debug:${session.id}`;
    const c = session.configuration as DevlaneDebugConfiguration;
    this.label = launched ? `${session.name} (clone ${launched.namespace}/${launched.pod}:${launched.port})` : `${session.name} (${c.hostName ?? '127.0.0.1'}:${String(c.port ?? '?')})`;
  }

  get status(): SessionStatus {
    return this.state;
  }

  markStopped(): void {
    this.state = { state: 'stopped' };
    this.changes.fire(this.state);
  }

  async dispose(): Promise<void> {
    if (this.state.state !== 'stopped') {
      this.state = { state: 'stopping' };
      this.changes.fire(this.state);
      // Detaching (not terminating) leaves the JVM running, which is what ending a debug attachment means.
      await vscode.debug.stopDebugging(this.session);
    }
    this.changes.dispose();
  }
}
