import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { debugType } from '../ids';
import { Emitter } from '../core/events';
import { DevlaneError, toDevlaneError } from '../core/errors';
import { readSavedClones } from '../core/clones/config';
import { Deployer } from '../core/clones/deploy/deploy';
import { restartApp, type CloneEnv } from '../core/clones/lifecycle';
import { ServerClock } from '../core/clones/serverClock';
import { ownerIdentity } from '../core/clones/spec/identity';
import type { Session, SessionStatus } from '../core/sessions/session';
import { resolveAttachConfiguration, resolveLaunchConfiguration, type DevlaneDebugConfiguration } from '../../debug-adapter/dap/config';
import { launchTargetEnv, type LaunchTarget } from '../../debug-adapter/dap/types';
import { discoverJdwpPort, jdwpPortOf } from '../../debug-adapter/kube/jdwpPort';
import { parseCloneSource, prepareLaunch, type LaunchTarget as PreparedLaunch } from './launch';

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
  ctx.own(
    vscode.debug.onDidStartDebugSession((s) => {
      if (s.type !== debugType) return;
      const a = ctx.sessions.add(new DebugAttachment(s, launcher.targetOf(s.id)));
      live.set(s.id, a);
    }),
  );
  ctx.own(launcher);
  ctx.own(
    vscode.debug.onDidTerminateDebugSession((s) => {
      const target = launcher.forget(s.id);
      if (target && restartOnExit.delete(s.id)) void launcher.restart(target);
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
      const loaded = await this.ctx.kube.require();
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

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [
      { type: debugType, request: 'launch', name: 'Devlane: Debug in my clone', clone: { namespace: 'default', kind: 'Deployment', name: 'my-app' }, preLaunchTask: 'mvn: package' },
      { type: debugType, request: 'attach', name: 'Devlane: Attach to JVM', hostName: '127.0.0.1', port: 5005 },
    ];
  }

  /** F5 without a launch.json, or a configuration missing its port: ask for what cannot be defaulted. */
  async resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    const c = { ...config } as DevlaneDebugConfiguration;
    if (!c.type && !c.request && !c.name) Object.assign(c, { type: debugType, request: 'attach', name: 'Devlane: Attach to JVM' });
    try {
      if (c.request === 'launch') {
        if (c.clone === undefined) {
          const picked = await pickSavedWorkload(folder);
          if (!picked) return undefined;
          c.clone = picked;
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

/** The workload of a launch without "clone": one of those saved in devlane.yaml, picked. */
async function pickSavedWorkload(folder: vscode.WorkspaceFolder | undefined): Promise<{ namespace: string; kind: string; name: string } | undefined> {
  const root = folder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  let saved: { namespace: string; kind: string; name: string }[] = [];
  if (root) {
    try {
      saved = readSavedClones(Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.file(path.join(root, 'devlane.yaml')))).toString('utf8'));
    } catch {
      saved = [];
    }
  }
  if (saved.length === 0) {
    throw new DevlaneError('invalid-input', 'The launch configuration needs "clone": the workload to debug, e.g. {"namespace": "shop", "kind": "Deployment", "name": "orders"}, or a workload saved under "clones" in devlane.yaml.');
  }
  const picked = await vscode.window.showQuickPick(
    saved.map((w) => ({ label: `${w.namespace}/${w.name}`, description: w.kind, w })),
    { title: 'Debug in your clone of…', placeHolder: 'Workload from devlane.yaml' },
  );
  return picked && { namespace: picked.w.namespace, kind: picked.w.kind, name: picked.w.name };
}

type KubernetesTarget = { kubeconfig?: string; context?: string; namespace?: string; pod?: string };

/** Fills the pod target of an attach: context and kubeconfig from Devlane's connection, the rest picked. */
async function pickPodTarget(ctx: DevlaneContext, c: DevlaneDebugConfiguration): Promise<boolean> {
  const k = { ...((c.kubernetes ?? {}) as KubernetesTarget) };
  const loaded = await ctx.kube.require();
  k.context ??= loaded.context;
  // The adapter process reads one file; several (KUBECONFIG=a:b) reach it through its inherited environment.
  if (!k.kubeconfig && loaded.files.length === 1) k.kubeconfig = loaded.files[0];
  const core = loaded.kc.makeApiClient(CoreV1Api);
  if (!k.namespace) {
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name ?? '').filter(Boolean);
    const ordered = [loaded.namespace, ...names.filter((n) => n !== loaded.namespace)];
    const picked = await vscode.window.showQuickPick(ordered, { title: 'Attach to a JVM in a pod', placeHolder: 'Namespace' });
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
    const found = await discoverJdwpPort(loaded.kc, pod);
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
