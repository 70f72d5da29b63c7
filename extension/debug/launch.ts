import * as path from 'node:path';
import { DevlaneError, toDevlaneError } from '../core/errors';
import { readCloneOptionsFile } from '../core/clones/config';
import { findArtifact } from '../core/clones/deploy/artifact';
import type { Deployer, DeployResult } from '../core/clones/deploy/deploy';
import { execIn } from '../core/kube/exec';
import { createClone, listClones, sourceKinds, type CloneEnv, type CloneInfo, type SourceKind } from '../core/clones/lifecycle';
import { cloneDefaults, resolveOptions, type CloneOptions } from '../core/clones/spec/options';

/**
 * The `launch` flow without VS Code: clone (or reuse), deploy, make sure the JVM listens for a
 * debugger. The VS Code layer runs it after the preLaunchTask built the artifact and hands the
 * result to the adapter, which attaches through the API server's port-forward.
 */

/** What a `launch` configuration says about the clone and the artifact. */
export interface LaunchRequest {
  /** The workload the clone is made from. */
  readonly source: { readonly namespace: string; readonly kind: SourceKind; readonly name: string };
  /** The workspace folder: devlane.yaml and relative artifact paths are resolved against it. */
  readonly workspace: string;
  /** Path or glob of the build output, relative to the workspace; `false` deploys nothing. */
  readonly artifact?: string | false;
  /** Overrides the saved clone options' JDWP port. */
  readonly jdwpPort?: number;
  /** Overrides the saved clone options' app container (the one whose JVM is debugged). */
  readonly container?: string;
  /** How long the JVM may take to listen for a debugger once started. */
  readonly listenTimeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (message: string) => void;
}

/** Where the adapter attaches, and what happened on the way. */
export interface LaunchTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly port: number;
  readonly created: boolean;
  /** The deployed build output (absolute), when there was one. */
  readonly artifact?: string;
  readonly deployed?: DeployResult;
  readonly ms: number;
}

/** Reads `clone` of a launch configuration: `{namespace, kind, name}` or "namespace/Kind/name". */
export function parseCloneSource(value: unknown): LaunchRequest['source'] {
  let v = value;
  if (typeof v === 'string') {
    const parts = v.split('/');
    v = parts.length === 3 ? { namespace: parts[0], kind: parts[1], name: parts[2] } : parts.length === 2 ? { namespace: parts[0], kind: 'Deployment', name: parts[1] } : undefined;
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const kind = o.kind ?? 'Deployment';
  if (typeof o.namespace !== 'string' || !o.namespace || typeof o.name !== 'string' || !o.name || typeof kind !== 'string') {
    throw new DevlaneError('invalid-input', `The launch configuration needs "clone": the workload to debug, e.g. {"namespace": "shop", "kind": "Deployment", "name": "orders"}; it has ${JSON.stringify(value)}.`);
  }
  if (!(sourceKinds as readonly string[]).includes(kind)) {
    throw new DevlaneError('invalid-input', `"clone.kind" must be one of ${sourceKinds.join(', ')}, not "${kind}".`);
  }
  return { namespace: o.namespace, kind: kind as SourceKind, name: o.name };
}

/**
 * The saved clone options with what debugging needs on top: the keep-alive supervisor (so deploy
 * and "terminate" can restart the app), JDWP on, and no liveness probe (a JVM paused at a
 * breakpoint would fail it and be killed).
 */
export function launchOptions(saved: CloneOptions, jdwpPort?: number, container?: string): CloneOptions {
  return resolveOptions({
    ...saved,
    ...(container ? { container } : {}),
    startCommand: 'keep-alive',
    removeProbes: { ...saved.removeProbes, liveness: true },
    jvm: { ...saved.jvm, jdwp: { ...saved.jvm.jdwp, enabled: true, ...(jdwpPort ? { port: jdwpPort } : {}) } },
  });
}

/** Why a clone cannot be debugged by `launch`, or undefined when it can. */
export function unusableForLaunch(c: CloneInfo): string | undefined {
  if (!c.supervised) return 'it runs its original command, without the keep-alive supervisor';
  if (c.options && !c.options.jvm.jdwp.enabled) return 'it was made without JDWP';
  if (c.reason === 'Terminating') return 'it is being deleted';
  return undefined;
}

/** The developer's clones of one workload, ready ones first, then newest first. */
export function clonesOf(all: readonly CloneInfo[], source: LaunchRequest['source']): CloneInfo[] {
  return all
    .filter((c) => c.ref.namespace === source.namespace && c.cloneOf === `${source.kind}/${source.name}`)
    .sort((a, b) => Number(b.ready) - Number(a.ready) || (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
}

/** TCP ports in LISTEN state in /proc/net/tcp or tcp6 text (the kernel's fixed columns). */
export function listeningPorts(procNetTcp: string): Set<number> {
  const out = new Set<number>();
  for (const line of procNetTcp.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // sl local_address rem_address st …; the header line has "local_address" in column 1.
    if (cols.length < 4 || cols[3] !== '0A') continue;
    const port = parseInt(cols[1]?.split(':')[1] ?? '', 16);
    if (Number.isInteger(port)) out.add(port);
  }
  return out;
}

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DevlaneError('cancelled', 'The launch was cancelled.');
}

/** Waits until something in the pod listens on `port` (the JVM's JDWP agent), read through exec. */
export async function waitForListen(env: CloneEnv, namespace: string, pod: string, container: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkCancelled(signal);
    const r = await execIn(env.kc, namespace, pod, container, ['cat', '/proc/net/tcp', '/proc/net/tcp6'], { timeoutMs: 20_000, ...(signal ? { signal } : {}) });
    if (listeningPorts(r.stdout.toString('utf8')).has(port)) return;
    if (Date.now() > deadline) {
      throw new DevlaneError(
        'timeout',
        `Nothing listens for a debugger on port ${port} in ${namespace}/${pod} ${Math.round(timeoutMs / 1000)} s after the app started. Look at the clone's log: the app may have exited, or JAVA_TOOL_OPTIONS may be overridden by the image.`,
        { actions: [{ title: 'Show Clone Log', command: 'devlane.pod.logs', args: [{ kind: 'Pod', namespace, name: pod }] }] },
      );
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * One F5: reuse the developer's clone of the workload (or create it with the saved options and
 * what debugging needs), deploy the build output (which restarts the app), and wait until the
 * JVM listens for a debugger.
 */
export async function prepareLaunch(env: CloneEnv, deployer: Deployer, req: LaunchRequest): Promise<LaunchTarget> {
  const started = Date.now();
  const progress = req.onProgress ?? (() => {});
  const { source } = req;
  const key = { namespace: source.namespace, kind: source.kind, name: source.name };
  const saved = await readCloneOptionsFile(path.join(req.workspace, 'devlane.yaml'), key, cloneDefaults);
  const options = launchOptions(saved, req.jdwpPort, req.container);
  // Found before anything changes in the cluster, so a missing build fails fast and cheaply.
  const configured = req.artifact === false ? undefined : (req.artifact ?? options.deploy.artifact);
  const artifact = req.artifact === false ? undefined : findArtifact(req.workspace, configured);

  progress(`looking for your clone of ${source.kind} ${source.namespace}/${source.name}`);
  const mine = clonesOf(await listClones(env, [source.namespace]), source);
  let clone = mine.find((c) => !unusableForLaunch(c));
  let created = false;
  if (!clone && mine.length > 0) {
    const c = mine[0]!;
    throw new DevlaneError('invalid-input', `Your clone ${c.ref.namespace}/${c.ref.name} of ${source.kind}/${source.name} cannot be debugged: ${unusableForLaunch(c)}. Delete it; the next F5 creates one with keep-alive and JDWP.`, {
      actions: [{ title: 'Delete Clone', command: 'devlane.clone.delete', args: [c.ref] }],
    });
  }
  checkCancelled(req.signal);
  if (!clone) {
    progress(`cloning ${source.kind} ${source.namespace}/${source.name}`);
    const made = await createClone(env, { kind: source.kind, namespace: source.namespace, name: source.name }, options, {
      onProgress: progress,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    clone = made.info;
    created = true;
  } else if (!clone.ready) {
    throw new DevlaneError('invalid-input', `Your clone ${clone.ref.namespace}/${clone.ref.name} is not running (${clone.reason ?? clone.phase}). Delete it and press F5 again, or wait until it runs.`, {
      actions: [{ title: 'Delete Clone', command: 'devlane.clone.delete', args: [clone.ref] }],
    });
  }
  const { namespace, name: pod } = clone.ref;
  const port = clone.options?.jvm.jdwp.port ?? options.jvm.jdwp.port;
  let deployed: DeployResult | undefined;
  if (artifact) {
    checkCancelled(req.signal);
    progress(`deploying ${path.basename(artifact)} to ${pod}`);
    try {
      deployed = await deployer.deploy(namespace, pod, { artifact, onProgress: progress, ...(req.signal ? { signal: req.signal } : {}) });
    } catch (e) {
      const err = toDevlaneError(e);
      if (err.reason === 'cancelled' || err.actions.length > 0) throw err;
      throw new DevlaneError(err.reason, err.message, { cause: e, actions: [{ title: 'Show Clone Log', command: 'devlane.pod.logs', args: [{ kind: 'Pod', namespace, name: pod }] }] });
    }
  }
  progress(`waiting for the JVM in ${pod} to listen for a debugger on port ${port}`);
  await waitForListen(env, namespace, pod, clone.appContainer, port, req.listenTimeoutMs ?? 60_000, req.signal);
  return { namespace, pod, container: clone.appContainer, port, created, ...(artifact ? { artifact } : {}), ...(deployed ? { deployed } : {}), ms: Date.now() - started };
}
