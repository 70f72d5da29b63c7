import type { V1Container, V1EnvVar, V1ObjectMeta, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { DevlaneError } from '../../errors';
import { cloneAnnotations, cloneLabels, devlaneDir, devlaneVolume } from '../labels';
import { cleanMetadata, cleanPodSpec, defaultAppContainer } from './hygiene';
import { cloneName, sanitizeLabelValue, type OwnerIdentity } from './identity';
import type { CloneOptions } from './options';
import { detachFromSelectors, type OwningSelector } from './selectors';
import { escapeKubernetesExpansion, supervisedCommand } from './supervisor';

/** What a clone is made from: a pod as it runs, or a workload's pod template. */
export interface CloneSource {
  readonly kind: 'Pod' | 'Deployment' | 'StatefulSet' | 'ReplicaSet';
  readonly namespace: string;
  readonly name: string;
  /** The pod's metadata, or the template's. */
  readonly metadata: V1ObjectMeta | undefined;
  readonly spec: V1PodSpec;
}

export interface BuildInput {
  readonly source: CloneSource;
  readonly options: CloneOptions;
  readonly owner: OwnerIdentity;
  /** On the API server's clock. */
  readonly expiresAt: Date;
  /** Services and controllers in the namespace that could select the clone. */
  readonly selectors: readonly OwningSelector[];
  /** Makes the default name unique (random in production, fixed in tests). */
  readonly nameSuffix: string;
}

export interface BuiltClone {
  readonly pod: V1Pod;
  readonly appContainer: string;
  /** Things the user should know (removed sidecars, selectors that still match, …). */
  readonly notes: readonly string[];
}

export const captureContainerName = 'devlane-capture';
export const captureDir = `${devlaneDir}/capture`;
export const captureFile = `${captureDir}/capture.pcap`;

/** The base of a clone's name: the workload's name, or a pod's name without its generated tail. */
export function baseNameOf(source: Pick<CloneSource, 'kind' | 'name' | 'metadata'>): string {
  if (source.kind !== 'Pod') return source.name;
  const gen = source.metadata?.generateName;
  const hash = source.metadata?.labels?.['pod-template-hash'];
  if (gen) {
    const trimmed = gen.replace(/-$/, '');
    return hash && trimmed.endsWith(`-${hash}`) ? trimmed.slice(0, -hash.length - 1) : trimmed;
  }
  return source.name;
}

/** The Pod to create for a clone: the source cleaned, then every option applied. Pure. */
export function buildClonePod(input: BuildInput): BuiltClone {
  const { source, options } = input;
  const notes: string[] = [];
  const meta = cleanMetadata(source.metadata);
  const { spec, removed } = cleanPodSpec(source.spec, { keepNodeName: false });
  if (removed.length > 0) notes.push(`left out (injected or server-set): ${removed.join(', ')}`);

  const appName = options.container ?? defaultAppContainer(spec);
  const app = spec.containers.find((c) => c.name === appName);
  if (!appName || !app) {
    throw new DevlaneError('invalid-input', `${source.kind} ${source.namespace}/${source.name} has no container "${appName ?? '(none)'}". Choose one of: ${spec.containers.map((c) => c.name).join(', ')}.`);
  }

  applyStartCommand(app, options, source);
  applyProbes(app, options);
  applyEnv(app, options);
  if (options.resources) app.resources = structuredClone(options.resources) as V1Container['resources'];
  mountDevlane(app);
  applyCapture(spec, app, options);

  if (options.nodeName) spec.nodeName = options.nodeName;
  if (options.maxLifetimeHours > 0) {
    const cap = Math.round(options.maxLifetimeHours * 3600);
    spec.activeDeadlineSeconds = spec.activeDeadlineSeconds ? Math.min(spec.activeDeadlineSeconds, cap) : cap;
  }
  spec.volumes = [...(spec.volumes ?? []).filter((v) => v.name !== devlaneVolume), { name: devlaneVolume, emptyDir: {} }];

  const detached = detachFromSelectors(meta.labels, input.selectors, options.keepInServices);
  if (detached.stillMatching.length > 0) notes.push(`still selected by ${detached.stillMatching.join(', ')} (their selectors use negative expressions only)`);
  const labels: Record<string, string> = {
    ...detached.labels,
    ...options.labels,
    [cloneLabels.clone]: 'true',
    [cloneLabels.cloneOf]: sanitizeLabelValue(baseNameOf(source)) || 'unknown',
    [cloneLabels.owner]: input.owner.label,
  };
  const annotations: Record<string, string> = {
    ...meta.annotations,
    [cloneAnnotations.cloneOf]: `${source.kind}/${source.name}`,
    [cloneAnnotations.owner]: input.owner.display,
    [cloneAnnotations.expiresAt]: input.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    [cloneAnnotations.container]: appName,
    [cloneAnnotations.options]: JSON.stringify(options),
  };
  const moved = { ...meta.droppedLabels, ...detached.moved };
  if (Object.keys(moved).length > 0) annotations[cloneAnnotations.originalLabels] = JSON.stringify(moved);

  const name = options.name ?? cloneName(baseNameOf(source), input.owner.label, input.nameSuffix);
  const pod: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: source.namespace, labels, annotations }, spec };
  return { pod, appContainer: appName, notes };
}

function applyStartCommand(app: V1Container, options: CloneOptions, source: CloneSource): void {
  if (options.startCommand === 'original') {
    if (options.appCommand) {
      app.command = [...options.appCommand];
      delete app.args;
    }
    return;
  }
  const appCommand = options.appCommand ?? (app.command && app.command.length > 0 ? [...app.command, ...(app.args ?? [])] : undefined);
  if (!appCommand) {
    throw new DevlaneError(
      'invalid-input',
      `Container "${app.name}" of ${source.kind} ${source.namespace}/${source.name} has no command in its spec: its image's ENTRYPOINT runs, which Devlane cannot see. ` +
        'Give the app command in the clone options (appCommand), or clone with the original start command (no keep-alive, no deploy).',
    );
  }
  app.command = supervisedCommand(appCommand);
  delete app.args;
}

function applyProbes(app: V1Container, options: CloneOptions): void {
  if (options.removeProbes.liveness) delete app.livenessProbe;
  if (options.removeProbes.readiness) delete app.readinessProbe;
  if (options.removeProbes.startup) delete app.startupProbe;
}

/** The JVM options a clone adds, in the order they are appended to JAVA_TOOL_OPTIONS. */
export function jvmToolOptions(options: CloneOptions): string[] {
  const out: string[] = [];
  const { jdwp } = options.jvm;
  if (jdwp.enabled) out.push(`-agentlib:jdwp=transport=dt_socket,server=y,suspend=${jdwp.suspend ? 'y' : 'n'},address=*:${jdwp.port}`);
  if (options.jvm.heapDumpOnOom) out.push('-XX:+HeapDumpOnOutOfMemoryError', `-XX:HeapDumpPath=${devlaneDir}`);
  if (options.jvm.exceptionLogging) out.push('-Xlog:exceptions=info');
  out.push(...options.jvm.extraOptions);
  return out;
}

function setEnv(app: V1Container, name: string, value: string): void {
  const env: V1EnvVar[] = (app.env ?? []).filter((e) => e.name !== name);
  env.push({ name, value });
  app.env = env;
}

function applyEnv(app: V1Container, options: CloneOptions): void {
  const jvm = jvmToolOptions(options);
  if (jvm.length > 0) {
    const existing = app.env?.find((e) => e.name === 'JAVA_TOOL_OPTIONS');
    // A value from a ConfigMap or Secret cannot be merged here; ours replaces it (the note says so).
    const base = existing?.value ? `${existing.value} ` : '';
    setEnv(app, 'JAVA_TOOL_OPTIONS', `${base}${jvm.join(' ')}`);
  }
  for (const [k, v] of Object.entries(options.env)) setEnv(app, k, v);
  if (options.startCommand === 'keep-alive' && options.capture.enabled) {
    setEnv(app, 'DEVLANE_CAPTURE', options.capture.mode);
    if (options.capture.mode === 'image') {
      setEnv(app, 'DEVLANE_CAPTURE_IF', options.capture.interface);
      setEnv(app, 'DEVLANE_CAPTURE_MB', String(options.capture.fileSizeMb));
      setEnv(app, 'DEVLANE_CAPTURE_FILES', String(options.capture.fileCount));
      setEnv(app, 'DEVLANE_CAPTURE_FILTER', options.capture.filter);
    }
  }
  // The supervisor's watchdog stops the app when the heartbeat stops renewing this (see supervisor.ts).
  if (options.startCommand === 'keep-alive') setEnv(app, 'DEVLANE_TTL_SECONDS', String(Math.round(options.ttlMinutes * 60)));
}

function mountDevlane(c: V1Container): void {
  c.volumeMounts = [...(c.volumeMounts ?? []).filter((m) => m.mountPath !== devlaneDir && m.name !== devlaneVolume), { name: devlaneVolume, mountPath: devlaneDir }];
}

function addCapabilities(c: V1Container, caps: string[]): void {
  const sc = (c.securityContext ??= {});
  const capabilities = (sc.capabilities ??= {});
  capabilities.add = [...new Set([...(capabilities.add ?? []), ...caps])];
}

/** tcpdump's argv for the rotating capture (size in MB, ring of fileCount files). */
export function tcpdumpArgs(options: CloneOptions): string[] {
  const c = options.capture;
  return ['-i', c.interface, '-U', '-Z', 'root', '-w', captureFile, '-C', String(c.fileSizeMb), '-W', String(c.fileCount), ...(c.filter ? [c.filter] : [])];
}

function applyCapture(spec: V1PodSpec, app: V1Container, options: CloneOptions): void {
  if (!options.capture.enabled) return;
  if (options.capture.mode === 'image') {
    if (options.startCommand !== 'keep-alive') {
      throw new DevlaneError('invalid-input', 'Capture from the app image needs the keep-alive start command (the supervisor starts tcpdump before the app). Use keep-alive, or capture with the sidecar.');
    }
    addCapabilities(app, ['NET_RAW', 'NET_ADMIN']);
    return;
  }
  const sidecar: V1Container = {
    name: captureContainerName,
    image: options.capture.image,
    command: ['/bin/sh', '-c', escapeKubernetesExpansion(`mkdir -p ${captureDir} && exec tcpdump "$@"`), captureContainerName, ...tcpdumpArgs(options)],
    volumeMounts: [{ name: devlaneVolume, mountPath: devlaneDir }],
    resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
  };
  addCapabilities(sidecar, ['NET_RAW', 'NET_ADMIN']);
  spec.containers = [...spec.containers.filter((c) => c.name !== captureContainerName), sidecar];
}
