import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1LabelSelector, type V1Pod, type V1PodTemplateSpec } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { httpCode } from '../kube/probe';
import type { ResourceRef } from '../kube/resourceRef';
import type { Logger } from '../log';
import { api, classifyApiError } from '../kube/apiErrors';
import { diagnosePod } from './diagnose';
import { execIn } from '../kube/exec';
import { cloneAnnotations, cloneLabels, devlaneDir, ownerSelector } from './labels';
import { createLease, deleteLease, leaseOf, leaseOwnerReference, renewLease } from './lease';
import type { ServerClock } from './serverClock';
import { buildClonePod, type CloneSource } from './spec/build';
import { defaultAppContainer } from './spec/hygiene';
import type { OwnerIdentity } from './spec/identity';
import { resolveOptions, type CloneOptions } from './spec/options';
import { serviceSelector, type OwningSelector } from './spec/selectors';
import { isSupervised, renewScript } from './spec/supervisor';

/** What every clone operation needs: the cluster, who "I" am, and the server's clock. */
export interface CloneEnv {
  readonly kc: KubeConfig;
  readonly owner: OwnerIdentity;
  readonly clock: ServerClock;
  readonly log: Logger;
}

/** A clone as the tree and commands see it. */
export interface CloneInfo {
  readonly ref: ResourceRef & { readonly kind: 'Clone' };
  readonly uid: string;
  readonly phase: string;
  /** Why it is not (yet) running, when it is not: a container or pod reason. */
  readonly reason?: string;
  readonly node?: string;
  readonly createdAt?: Date;
  readonly expiresAt?: Date;
  readonly cloneOf: string;
  readonly ownerDisplay: string;
  readonly appContainer: string;
  readonly supervised: boolean;
  readonly options?: CloneOptions;
  readonly ready: boolean;
  /** The lease Job that deletes the clone at its expiry without Devlane; absent when it was made without one (RBAC). */
  readonly lease?: string;
}

export type SourceKind = 'Pod' | 'Deployment' | 'StatefulSet' | 'ReplicaSet';
export const sourceKinds: readonly SourceKind[] = ['Pod', 'Deployment', 'StatefulSet', 'ReplicaSet'];

export interface CreateProgress {
  (message: string): void;
}

export interface CreateOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: CreateProgress;
  /** How long to wait for the clone to run before rolling back. */
  readonly startTimeoutMs?: number;
  readonly nameSuffix?: string;
}

export interface Created {
  readonly info: CloneInfo;
  readonly pod: V1Pod;
  readonly notes: readonly string[];
  /** Set when the clone was made without a lease (RBAC): what is missing; also in `notes`. */
  readonly noLease?: string;
}

function core(env: CloneEnv): CoreV1Api {
  return env.kc.makeApiClient(CoreV1Api);
}
function apps(env: CloneEnv): AppsV1Api {
  return env.kc.makeApiClient(AppsV1Api);
}

const resourceOf: Record<SourceKind, { resource: string; group: string }> = {
  Pod: { resource: 'pods', group: '' },
  Deployment: { resource: 'deployments', group: 'apps' },
  StatefulSet: { resource: 'statefulsets', group: 'apps' },
  ReplicaSet: { resource: 'replicasets', group: 'apps' },
};

function asSourceKind(kind: string): SourceKind {
  if ((sourceKinds as readonly string[]).includes(kind)) return kind as SourceKind;
  throw new DevlaneError('invalid-input', `A clone can be made from a Pod, Deployment, StatefulSet or ReplicaSet, not a ${kind}.`);
}

interface ReadSource {
  readonly source: CloneSource;
  /** The selector of the workload (or the pod's controller), which would adopt the clone. */
  readonly controllerSelectors: OwningSelector[];
}

async function readSource(env: CloneEnv, ref: ResourceRef): Promise<ReadSource> {
  const kind = asSourceKind(ref.kind);
  const call = { verb: 'get' as const, ...resourceOf[kind], namespace: ref.namespace, name: ref.name };
  const fromTemplate = (t: V1PodTemplateSpec | undefined, selector: V1LabelSelector | undefined): ReadSource => {
    if (!t?.spec) throw new DevlaneError('invalid-input', `${kind} ${ref.namespace}/${ref.name} has no pod template.`);
    return {
      source: { kind, namespace: ref.namespace, name: ref.name, metadata: t.metadata, spec: t.spec },
      controllerSelectors: selector ? [{ source: `${kind}/${ref.name}`, kind: 'controller', selector }] : [],
    };
  };
  switch (kind) {
    case 'Deployment': {
      const d = await api(call, () => apps(env).readNamespacedDeployment({ name: ref.name, namespace: ref.namespace }));
      return fromTemplate(d.spec?.template, d.spec?.selector);
    }
    case 'StatefulSet': {
      const s = await api(call, () => apps(env).readNamespacedStatefulSet({ name: ref.name, namespace: ref.namespace }));
      return fromTemplate(s.spec?.template, s.spec?.selector);
    }
    case 'ReplicaSet': {
      const r = await api(call, () => apps(env).readNamespacedReplicaSet({ name: ref.name, namespace: ref.namespace }));
      return fromTemplate(r.spec?.template, r.spec?.selector);
    }
    case 'Pod': {
      const p = await api(call, () => core(env).readNamespacedPod({ name: ref.name, namespace: ref.namespace }));
      if (!p.spec) throw new DevlaneError('invalid-input', `Pod ${ref.namespace}/${ref.name} has no spec.`);
      if (p.metadata?.labels?.[cloneLabels.clone] === 'true') {
        throw new DevlaneError('invalid-input', `Pod ${ref.namespace}/${ref.name} is itself a clone. Clone its source (${p.metadata.annotations?.[cloneAnnotations.cloneOf] ?? 'unknown'}) instead.`);
      }
      return { source: { kind, namespace: ref.namespace, name: ref.name, metadata: p.metadata, spec: p.spec }, controllerSelectors: await controllerSelectorsOf(env, p) };
    }
  }
}

/** The selector of a pod's controller (ReplicaSet, StatefulSet, …), which would adopt a look-alike. */
async function controllerSelectorsOf(env: CloneEnv, pod: V1Pod): Promise<OwningSelector[]> {
  const ctl = pod.metadata?.ownerReferences?.find((o) => o.controller);
  if (!ctl || !pod.metadata?.namespace) return [];
  const ns = pod.metadata.namespace;
  try {
    const read = async (): Promise<V1LabelSelector | undefined> => {
      switch (ctl.kind) {
        case 'ReplicaSet':
          return (await apps(env).readNamespacedReplicaSet({ name: ctl.name, namespace: ns })).spec?.selector;
        case 'StatefulSet':
          return (await apps(env).readNamespacedStatefulSet({ name: ctl.name, namespace: ns })).spec?.selector;
        case 'DaemonSet':
          return (await apps(env).readNamespacedDaemonSet({ name: ctl.name, namespace: ns })).spec?.selector;
        default:
          return undefined;
      }
    };
    const selector = await read();
    return selector ? [{ source: `${ctl.kind}/${ctl.name}`, kind: 'controller', selector }] : [];
  } catch (e) {
    // Not allowed to read the controller: fall back to the labels it set on the pod, so at least
    // the pod-template-hash style keys (dropped anyway) and the rest are judged by Services.
    env.log.warn(`cannot read the controller ${ctl.kind}/${ctl.name} of ${ns}/${pod.metadata.name}: ${classifyApiError(e, { verb: 'get', resource: ctl.kind.toLowerCase() + 's', group: 'apps', namespace: ns }).message}`);
    return [];
  }
}

async function serviceSelectors(env: CloneEnv, namespace: string): Promise<OwningSelector[]> {
  const list = await api({ verb: 'list', resource: 'services', namespace }, () => core(env).listNamespacedService({ namespace }));
  const out: OwningSelector[] = [];
  for (const s of list.items) {
    const selector = serviceSelector(s.spec?.selector);
    if (selector) out.push({ source: `Service/${s.metadata?.name}`, kind: 'service', selector });
  }
  return out;
}

/** The pods a workload runs now; a clear error when it runs none. */
export async function podsOfWorkload(env: CloneEnv, ref: ResourceRef): Promise<V1Pod[]> {
  const kind = asSourceKind(ref.kind);
  if (kind === 'Pod') return [await api({ verb: 'get', resource: 'pods', namespace: ref.namespace, name: ref.name }, () => core(env).readNamespacedPod({ name: ref.name, namespace: ref.namespace }))];
  const { controllerSelectors } = await readSource(env, ref);
  const selector = controllerSelectors[0]?.selector;
  const labelSelector = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await api({ verb: 'list', resource: 'pods', namespace: ref.namespace }, () => core(env).listNamespacedPod({ namespace: ref.namespace, labelSelector }));
  const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.labels?.[cloneLabels.clone] !== 'true');
  if (live.length === 0) {
    throw new DevlaneError('no-pods', `${kind} ${ref.namespace}/${ref.name} has no pods (scaled to zero?). Scale it up to clone a running pod, or clone the ${kind} itself (its pod template).`);
  }
  return live;
}

/**
 * Creates a clone and waits until its app container runs. Anything it created is deleted again
 * if a later step fails or the user cancels.
 */
export async function createClone(env: CloneEnv, sourceRef: ResourceRef, options: CloneOptions = resolveOptions(), opts: CreateOptions = {}): Promise<Created> {
  const progress = opts.onProgress ?? (() => {});
  const ns = sourceRef.namespace;
  progress(`reading ${sourceRef.kind} ${ns}/${sourceRef.name}`);
  const { source, controllerSelectors } = await readSource(env, sourceRef);
  const selectors = [...controllerSelectors, ...(await serviceSelectors(env, ns))];
  if (options.nodeName) await checkNode(env, options.nodeName);
  const notes: string[] = [];
  if (options.startCommand === 'keep-alive' && !options.appCommand) {
    const found = await entrypointFromRunningPod(env, sourceRef, source, options);
    if (found) {
      options = { ...options, appCommand: found };
      notes.push(`the spec gives no command, so the app command was read from a running pod: ${found.join(' ')}`);
    }
  }
  const now = await env.clock.now();
  const built = buildClonePod({
    source,
    options,
    owner: env.owner,
    expiresAt: new Date(now.getTime() + options.ttlMinutes * 60_000),
    selectors,
    nameSuffix: opts.nameSuffix ?? randomBytes(3).toString('hex').slice(0, 5),
  });
  const name = built.pod.metadata!.name!;
  notes.push(...built.notes);
  checkCancelled(opts.signal);
  // The lease first: the pod must name it as an owner, which takes the Job's uid.
  progress(`creating the lease of ${ns}/${name}`);
  const image = built.pod.spec?.containers.find((c) => c.name === built.appContainer)?.image ?? built.pod.spec?.containers[0]?.image ?? 'busybox';
  const lease = await createLease(env, { namespace: ns, cloneName: name, cloneLabels: built.pod.metadata?.labels ?? {}, image, ttlSeconds: options.ttlMinutes * 60 });
  const leaseJob = 'job' in lease ? lease.job : undefined;
  let noLease: string | undefined;
  if (leaseJob) {
    // Added after spec hygiene (which drops the source's owners): the lease is the clone's only owner.
    built.pod.metadata!.ownerReferences = [leaseOwnerReference(leaseJob)];
  } else if ('refused' in lease) {
    // A clone without a lease still expires through the reaper (next start of VS Code) and the
    // pod's own activeDeadlineSeconds cap; refusing the clone would leave a narrow-RBAC user with nothing.
    const warning = (noLease = `no lease: the cluster will not delete this clone by itself at its expiry if VS Code is closed (only the reaper at the next start${options.maxLifetimeHours > 0 ? `, or the ${options.maxLifetimeHours} h cap,` : ''} will). ${lease.refused.message}`);
    notes.push(warning);
    env.log.warn(`clone ${ns}/${name}: ${warning}`);
  }
  const dropLease = async () => {
    if (!leaseJob) return;
    await deleteLease(env, ns, leaseJob.metadata!.name!, leaseJob.metadata!.uid).catch((d: unknown) => env.log.error(`rollback of the lease of clone ${ns}/${name} failed (it expires by itself in ${options.ttlMinutes} min): ${d instanceof Error ? d.message : String(d)}`));
  };
  let created: V1Pod;
  try {
    checkCancelled(opts.signal);
    progress(`creating pod ${ns}/${name}`);
    created = await api({ verb: 'create', resource: 'pods', namespace: ns, name }, () => core(env).createNamespacedPod({ namespace: ns, body: built.pod }));
  } catch (e) {
    if (leaseJob) progress(`rolling back: deleting the lease of ${ns}/${name}`);
    await dropLease();
    throw e;
  }
  env.log.info(`clone ${ns}/${name} created from ${source.kind}/${source.name}${leaseJob ? ` with lease ${leaseJob.metadata?.name}` : ''}${built.notes.length ? `; ${built.notes.join('; ')}` : ''}`);
  try {
    const pod = await waitRunning(env, created, built.appContainer, options.startCommand === 'keep-alive', opts, progress, sourceRef);
    return { info: toInfo(pod), pod, notes, ...(noLease ? { noLease } : {}) };
  } catch (e) {
    progress(`rolling back: deleting ${ns}/${name}`);
    await deletePod(env, ns, name, created.metadata?.uid).catch((d: unknown) => env.log.error(`rollback of clone ${ns}/${name} failed: ${d instanceof Error ? d.message : String(d)}`));
    await dropLease();
    throw e;
  }
}

/**
 * When the spec has no command (the image's ENTRYPOINT runs), the only place that knows it is a
 * running container: its PID 1's argv, read from /proc/1/cmdline (NUL-separated, exact).
 */
async function entrypointFromRunningPod(env: CloneEnv, ref: ResourceRef, source: CloneSource, options: CloneOptions): Promise<string[] | undefined> {
  const container = options.container ?? defaultAppContainer(source.spec);
  const spec = source.spec.containers.find((c) => c.name === container);
  if (!container || !spec || (spec.command && spec.command.length > 0)) return undefined;
  let pods: V1Pod[];
  try {
    pods = await podsOfWorkload(env, ref);
  } catch (e) {
    env.log.info(`no running pod to read the entrypoint of ${ref.kind} ${ref.namespace}/${ref.name} from: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
  const pod = pods.find((p) => p.status?.containerStatuses?.some((c) => c.name === container && c.state?.running));
  if (!pod) return undefined;
  try {
    const r = await execIn(env.kc, ref.namespace, pod.metadata!.name!, container, ['cat', '/proc/1/cmdline'], { timeoutMs: 20_000 });
    const argv = r.stdout.toString('utf8').split('\0');
    while (argv.length > 0 && argv[argv.length - 1] === '') argv.pop();
    return argv.length > 0 ? argv : undefined;
  } catch (e) {
    env.log.info(`could not read the entrypoint from ${ref.namespace}/${pod.metadata?.name}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

async function checkNode(env: CloneEnv, nodeName: string): Promise<void> {
  try {
    await core(env).readNode({ name: nodeName });
  } catch (e) {
    if (httpCode(e) === 404) throw new DevlaneError('invalid-input', `There is no node "${nodeName}" to pin the clone to. Choose an existing node or let the scheduler choose.`);
    // Not allowed to read nodes: the pin is tried anyway; a wrong name shows as a pending pod.
    env.log.debug(`cannot check node ${nodeName}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DevlaneError('cancelled', 'Clone creation was cancelled.');
}

async function waitRunning(env: CloneEnv, pod: V1Pod, appContainer: string, supervised: boolean, opts: CreateOptions, progress: CreateProgress, source: ResourceRef): Promise<V1Pod> {
  const ns = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 180_000);
  let last = '';
  for (;;) {
    checkCancelled(opts.signal);
    const current = await api({ verb: 'get', resource: 'pods', namespace: ns, name }, () => core(env).readNamespacedPod({ name, namespace: ns }));
    const needEvents = current.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False');
    const events = needEvents ? await podEvents(env, ns, name, current.metadata?.uid) : [];
    const d = diagnosePod(current, events, appContainer, supervised, { title: 'Clone with Original Command', command: 'devlane.clone.create', args: [source] });
    if (d.state === 'running') return current;
    if (d.state === 'failed') throw d.error;
    if (d.detail !== last) progress((last = d.detail));
    if (Date.now() > deadline) {
      throw new DevlaneError('timeout', `Clone ${ns}/${name} did not start within ${Math.round((opts.startTimeoutMs ?? 180_000) / 1000)} s (${d.detail}). It was deleted again; look at the source's events, then retry.`);
    }
    await delay(500, opts.signal);
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

/** The pod's events (scheduler, kubelet), newest last. Forbidden or failing: none. */
export async function podEvents(env: CloneEnv, namespace: string, name: string, uid?: string) {
  try {
    const fieldSelector = `involvedObject.kind=Pod,involvedObject.name=${name}${uid ? `,involvedObject.uid=${uid}` : ''}`;
    return (await core(env).listNamespacedEvent({ namespace, fieldSelector })).items;
  } catch (e) {
    env.log.debug(`events of ${namespace}/${name}: ${e instanceof Error ? e.message : String(e)}`);
    return [];
  }
}

function parseOptions(text: string | undefined): CloneOptions | undefined {
  if (!text) return undefined;
  try {
    return resolveOptions(JSON.parse(text) as object);
  } catch {
    return undefined;
  }
}

/** A pod as a CloneInfo; the reason is the most telling one in its status. */
export function toInfo(pod: V1Pod): CloneInfo {
  const m = pod.metadata ?? {};
  const a = m.annotations ?? {};
  const appContainer = a[cloneAnnotations.container] ?? pod.spec?.containers[0]?.name ?? '';
  const app = pod.spec?.containers.find((c) => c.name === appContainer);
  const cs = pod.status?.containerStatuses?.find((c) => c.name === appContainer);
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const reason =
    (m.deletionTimestamp ? 'Terminating' : undefined) ??
    cs?.state?.waiting?.reason ??
    cs?.state?.terminated?.reason ??
    (scheduled?.status === 'False' ? scheduled.reason : undefined) ??
    pod.status?.reason;
  const expiresText = a[cloneAnnotations.expiresAt];
  const expires = expiresText ? new Date(expiresText) : undefined;
  const lease = leaseOf(pod);
  return {
    ref: { kind: 'Clone', namespace: m.namespace ?? '', name: m.name ?? '' },
    uid: m.uid ?? '',
    phase: pod.status?.phase ?? 'Pending',
    ...(reason ? { reason } : {}),
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    ...(m.creationTimestamp ? { createdAt: new Date(m.creationTimestamp) } : {}),
    ...(expires && !Number.isNaN(expires.getTime()) ? { expiresAt: expires } : {}),
    cloneOf: a[cloneAnnotations.cloneOf] ?? m.labels?.[cloneLabels.cloneOf] ?? '',
    ownerDisplay: a[cloneAnnotations.owner] ?? '',
    appContainer,
    supervised: isSupervised(app?.command),
    ...(parseOptions(a[cloneAnnotations.options]) ? { options: parseOptions(a[cloneAnnotations.options])! } : {}),
    ready: pod.status?.phase === 'Running' && !!cs?.state?.running,
    ...(lease ? { lease: lease.name } : {}),
  };
}

/**
 * The current owner's clone pods: cluster-wide when allowed, else in the given namespaces. Only
 * pods carrying this owner's label are returned; nobody else's clone ever reaches the caller.
 */
export async function listOwnPods(env: CloneEnv, fallbackNamespaces: readonly string[] = []): Promise<V1Pod[]> {
  const labelSelector = ownerSelector(env.owner.label);
  let pods: V1Pod[];
  try {
    pods = (await core(env).listPodForAllNamespaces({ labelSelector })).items;
  } catch (e) {
    if (httpCode(e) !== 403 || fallbackNamespaces.length === 0) throw classifyApiError(e, { verb: 'list', resource: 'pods' });
    pods = [];
    for (const namespace of fallbackNamespaces) {
      pods.push(...(await api({ verb: 'list', resource: 'pods', namespace }, () => core(env).listNamespacedPod({ namespace, labelSelector }))).items);
    }
  }
  // The server filtered by label already; checking again costs nothing and guards the reaper.
  return pods.filter((p) => p.metadata?.labels?.[cloneLabels.owner] === env.owner.label && p.metadata?.labels?.[cloneLabels.clone] === 'true');
}

export async function listClones(env: CloneEnv, fallbackNamespaces: readonly string[] = []): Promise<CloneInfo[]> {
  return (await listOwnPods(env, fallbackNamespaces)).map(toInfo).sort((a, b) => a.ref.namespace.localeCompare(b.ref.namespace) || a.ref.name.localeCompare(b.ref.name));
}

/** Reads one clone and checks that it is the current owner's. */
export async function getOwnClone(env: CloneEnv, namespace: string, name: string): Promise<V1Pod> {
  const pod = await api({ verb: 'get', resource: 'pods', namespace, name }, () => core(env).readNamespacedPod({ name, namespace }));
  assertOwn(env, pod);
  return pod;
}

function assertOwn(env: CloneEnv, pod: V1Pod): void {
  const labels = pod.metadata?.labels ?? {};
  if (labels[cloneLabels.clone] !== 'true') throw new DevlaneError('invalid-input', `Pod ${pod.metadata?.namespace}/${pod.metadata?.name} is not a Devlane clone; Devlane leaves it alone.`);
  if (labels[cloneLabels.owner] !== env.owner.label) {
    throw new DevlaneError('invalid-input', `Clone ${pod.metadata?.namespace}/${pod.metadata?.name} belongs to ${pod.metadata?.annotations?.[cloneAnnotations.owner] ?? 'someone else'}; Devlane only changes your own clones.`);
  }
}

export async function deletePod(env: CloneEnv, namespace: string, name: string, uid: string | undefined, resourceVersion?: string): Promise<void> {
  try {
    await core(env).deleteNamespacedPod({
      name,
      namespace,
      gracePeriodSeconds: 5,
      // The uid keeps a same-named newer pod safe; the resourceVersion (reaper) a just-renewed one.
      body: uid ? { preconditions: { uid, ...(resourceVersion ? { resourceVersion } : {}) } } : {},
    });
  } catch (e) {
    if (httpCode(e) === 404) return;
    throw classifyApiError(e, { verb: 'delete', resource: 'pods', namespace, name });
  }
}

/** Deletes one of the current owner's clones (and nothing else). */
export async function deleteClone(env: CloneEnv, namespace: string, name: string): Promise<void> {
  const pod = await getOwnClone(env, namespace, name);
  await deletePod(env, namespace, name, pod.metadata?.uid);
  await deleteLeaseOf(env, pod);
}

/** Deletes a clone's lease after its pod; a failure only costs a Job that expires by itself. */
export async function deleteLeaseOf(env: CloneEnv, pod: V1Pod): Promise<void> {
  const lease = leaseOf(pod);
  if (!lease) return;
  const namespace = pod.metadata!.namespace!;
  try {
    await deleteLease(env, namespace, lease.name, lease.uid);
  } catch (e) {
    env.log.warn(`could not delete the lease ${namespace}/${lease.name} of clone ${pod.metadata?.name} (it is removed when it expires): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Moves a clone's expiry to `minutes` from now on the server's clock (never earlier than it
 * was). The patch tests the owner label, so the server refuses it for anyone else's pod.
 */
export async function extendClone(env: CloneEnv, namespace: string, name: string, minutes: number): Promise<Date> {
  const pod = await getOwnClone(env, namespace, name);
  const now = await env.clock.now();
  const current = pod.metadata?.annotations?.[cloneAnnotations.expiresAt];
  const proposed = new Date(now.getTime() + minutes * 60_000);
  const next = current && new Date(current).getTime() > proposed.getTime() ? new Date(current) : proposed;
  // The lease first: if it cannot move, the cluster deletes the clone at the old time, and the
  // annotation must not promise otherwise.
  await renewLease(env, pod, next);
  await patchExpiry(env, pod, next);
  await renewInClone(env, pod, (next.getTime() - now.getTime()) / 1000);
  return next;
}

/**
 * Moves the expiry the keep-alive supervisor enforces inside the clone (its watchdog stops the
 * app when it passes) to `seconds` from now, on the container's clock. Best effort: the
 * annotation (the reaper's truth) is already set; a clone without the supervisor has no watchdog.
 */
export async function renewInClone(env: CloneEnv, pod: V1Pod, seconds: number): Promise<void> {
  const info = toInfo(pod);
  if (!info.supervised || !info.ready) return;
  try {
    const r = await execIn(env.kc, info.ref.namespace, info.ref.name, info.appContainer, ['/bin/sh', '-c', renewScript, 'devlane-renew', String(Math.max(1, Math.round(seconds)))], { timeoutMs: 20_000 });
    if (r.stdout.toString().trim() !== 'ok') env.log.warn(`could not renew the expiry inside ${info.ref.namespace}/${info.ref.name}: ${r.stderr.trim() || 'no answer'}`);
  } catch (e) {
    env.log.warn(`could not renew the expiry inside ${info.ref.namespace}/${info.ref.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

export async function patchExpiry(env: CloneEnv, pod: V1Pod, expiresAt: Date): Promise<void> {
  const namespace = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const body = [
    { op: 'test', path: `/metadata/labels/${escapePointer(cloneLabels.owner)}`, value: env.owner.label },
    { op: 'test', path: '/metadata/uid', value: pod.metadata!.uid },
    { op: 'add', path: `/metadata/annotations/${escapePointer(cloneAnnotations.expiresAt)}`, value: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z') },
  ];
  await api({ verb: 'patch', resource: 'pods', namespace, name }, () => core(env).patchNamespacedPod({ name, namespace, body }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)));
}

/** Asks the keep-alive supervisor to restart the app (it stops it gracefully first). */
export async function restartApp(env: CloneEnv, namespace: string, name: string): Promise<void> {
  const pod = await getOwnClone(env, namespace, name);
  const info = toInfo(pod);
  if (!info.supervised) {
    throw new DevlaneError('invalid-input', `Clone ${namespace}/${name} runs its original command, without the keep-alive supervisor, so its app cannot be restarted in place. Delete it and clone again with keep-alive.`);
  }
  const r = await execIn(env.kc, namespace, name, info.appContainer, ['/bin/sh', '-c', `kill -HUP "$(cat ${devlaneDir}/supervisor.pid)" && echo ok`], { timeoutMs: 30_000 });
  if (r.stdout.toString().trim() !== 'ok') {
    throw new DevlaneError('internal', `Could not signal the supervisor in ${namespace}/${name}: ${r.stderr.trim() || 'no answer'}.`);
  }
}
