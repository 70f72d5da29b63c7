import { DevlaneError } from '../../errors';

/**
 * What a developer can choose about a clone. Every field has a default (cloneDefaults); a partial
 * set, e.g. from devlane.yaml, is completed with resolveOptions. Everything chosen here ends up
 * visible in the created Pod spec (command, env, probes, containers, labels, annotations).
 */
export interface CloneOptions {
  /** Pod name; default `<source>-<owner>-<random>`. */
  readonly name?: string;
  /** The app container; default the first container that admission did not inject. */
  readonly container?: string;
  /**
   * `keep-alive`: a shell supervisor is the container's main process and runs the app as its
   * child, so the pod survives the app exiting and the app can be restarted (needed by deploy).
   * `original`: the container's own command.
   */
  readonly startCommand: 'keep-alive' | 'original';
  /**
   * The app's command line for keep-alive when the spec has none (the image's ENTRYPOINT runs and
   * the spec does not say what it is). Also overrides the spec's command when given.
   */
  readonly appCommand?: readonly string[];
  /** Pin to this node; default: let the scheduler choose. */
  readonly nodeName?: string;
  readonly removeProbes: { readonly liveness: boolean; readonly readiness: boolean; readonly startup: boolean };
  readonly capture: CaptureOptions;
  readonly jvm: JvmOptions;
  /** Replaces the app container's resources when given. */
  readonly resources?: { readonly requests?: Readonly<Record<string, string>>; readonly limits?: Readonly<Record<string, string>> };
  /** Set on the app container, overriding variables of the same name. */
  readonly env: Readonly<Record<string, string>>;
  /** Added to the clone's labels (traffic lanes select on them). */
  readonly labels: Readonly<Record<string, string>>;
  /** Keep the source's labels that Services select on, so the clone receives Service traffic. */
  readonly keepInServices: boolean;
  /** Lifetime without renewal; the heartbeat renews it while the developer is active. */
  readonly ttlMinutes: number;
  /**
   * A hard cap enforced in the cluster (`activeDeadlineSeconds`) so a clone whose developer
   * vanished stops running even if no reaper ever runs again. 0 = none.
   */
  readonly maxLifetimeHours: number;
  readonly deploy: DeployOptions;
}

export interface CaptureOptions {
  readonly enabled: boolean;
  /** `image`: tcpdump from the app's image; `sidecar`: a container sharing the pod's network. */
  readonly mode: 'sidecar' | 'image';
  readonly image: string;
  readonly interface: string;
  /** A tcpdump filter expression; empty = everything. */
  readonly filter: string;
  /** Rotation: at most fileCount files of fileSizeMb each, in /devlane/capture. */
  readonly fileSizeMb: number;
  readonly fileCount: number;
}

export interface JvmOptions {
  readonly jdwp: { readonly enabled: boolean; readonly port: number; readonly suspend: boolean };
  /** Log every thrown exception (-Xlog:exceptions=info). */
  readonly exceptionLogging: boolean;
  /** -XX:+HeapDumpOnOutOfMemoryError into /devlane/dumps. */
  readonly heapDumpOnOom: boolean;
  readonly extraOptions: readonly string[];
}

export interface DeployOptions {
  /** Local artifact: a path or glob relative to the workspace; default Maven/Gradle output. */
  readonly artifact?: string;
  /**
   * Where the app reads the artifact inside the container; default the `-jar` argument of the
   * app command, otherwise /devlane/app.
   */
  readonly target?: string;
  /** The app is up when this port listens… */
  readonly readinessPort?: number;
  /** …or when this text appears in its log. */
  readonly readinessLogLine?: string;
  readonly readinessTimeoutSeconds: number;
  /**
   * When Devlane redeploys by itself to the developer's running clones of the workload: after a
   * save of one of its build inputs (`watch`), after a build task ends well, or only on request.
   * Unset: the `devlane.clone.redeployOn` setting decides (default `manual`).
   */
  readonly on?: RedeployOn;
  /** Workspace-relative globs of the build inputs whose save redeploys; default defaultBuildInputs. */
  readonly watch?: readonly string[];
  /** With `on: task`, only the task of this name redeploys; default any task of the Build group. */
  readonly task?: string;
}

export type RedeployOn = 'save' | 'task' | 'manual';
export const redeployModes: readonly RedeployOn[] = ['save', 'task', 'manual'];
/** The files a Maven or Gradle build reads, relative to the workspace. */
export const defaultBuildInputs: readonly string[] = ['src/**', 'pom.xml', 'build.gradle', 'build.gradle.kts', 'settings.gradle', 'settings.gradle.kts'];

export type CloneOptionsInput = DeepPartial<CloneOptions>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

export const cloneDefaults: CloneOptions = {
  startCommand: 'keep-alive',
  removeProbes: { liveness: true, readiness: false, startup: false },
  capture: { enabled: false, mode: 'sidecar', image: 'nicolaka/netshoot:v0.13', interface: 'any', filter: '', fileSizeMb: 10, fileCount: 5 },
  jvm: { jdwp: { enabled: true, port: 5005, suspend: false }, exceptionLogging: false, heapDumpOnOom: true, extraOptions: [] },
  env: {},
  labels: {},
  keepInServices: false,
  ttlMinutes: 120,
  maxLifetimeHours: 24,
  deploy: { readinessTimeoutSeconds: 60 },
};

/** Completes a partial set with the defaults and checks it; a bad value is a clear error. */
export function resolveOptions(input: CloneOptionsInput = {}, defaults: CloneOptions = cloneDefaults): CloneOptions {
  const o: CloneOptions = {
    ...defaults,
    ...strip(input),
    removeProbes: { ...defaults.removeProbes, ...strip(input.removeProbes ?? {}) },
    capture: { ...defaults.capture, ...strip(input.capture ?? {}) },
    jvm: {
      ...defaults.jvm,
      ...strip(input.jvm ?? {}),
      jdwp: { ...defaults.jvm.jdwp, ...strip(input.jvm?.jdwp ?? {}) },
    },
    env: { ...defaults.env, ...(input.env ?? {}) },
    labels: { ...defaults.labels, ...(input.labels ?? {}) },
    deploy: { ...defaults.deploy, ...strip(input.deploy ?? {}) },
  } as CloneOptions;
  validate(o);
  return o;
}

function strip<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function bad(message: string): never {
  throw new DevlaneError('invalid-input', message);
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p > 0 && p < 65536;
}

function validate(o: CloneOptions): void {
  if (o.startCommand !== 'keep-alive' && o.startCommand !== 'original') bad(`Clone option startCommand must be "keep-alive" or "original", not "${String(o.startCommand)}".`);
  if (o.appCommand && (o.appCommand.length === 0 || o.appCommand.some((a) => typeof a !== 'string'))) bad('Clone option appCommand must be a non-empty list of strings (the program and its arguments).');
  if (!validPort(o.jvm.jdwp.port)) bad(`Clone option jvm.jdwp.port must be a TCP port (1-65535), not ${o.jvm.jdwp.port}.`);
  if (o.capture.mode !== 'sidecar' && o.capture.mode !== 'image') bad(`Clone option capture.mode must be "sidecar" or "image", not "${String(o.capture.mode)}".`);
  if (o.capture.enabled && o.capture.mode === 'sidecar' && !o.capture.image) bad('Clone option capture.image is empty: name an image that contains tcpdump, or use capture.mode "image".');
  if (!(o.capture.fileSizeMb >= 1) || !Number.isInteger(o.capture.fileCount) || o.capture.fileCount < 1) bad('Clone options capture.fileSizeMb and capture.fileCount must be at least 1.');
  if (!(o.ttlMinutes >= 1)) bad(`Clone option ttlMinutes must be at least 1, not ${o.ttlMinutes}.`);
  if (!(o.maxLifetimeHours >= 0)) bad(`Clone option maxLifetimeHours must be 0 (no cap) or more, not ${o.maxLifetimeHours}.`);
  if (o.deploy.readinessPort !== undefined && !validPort(o.deploy.readinessPort)) bad(`Clone option deploy.readinessPort must be a TCP port, not ${o.deploy.readinessPort}.`);
  if (!(o.deploy.readinessTimeoutSeconds > 0)) bad('Clone option deploy.readinessTimeoutSeconds must be more than 0.');
  if (o.deploy.on !== undefined && !redeployModes.includes(o.deploy.on)) bad(`Clone option deploy.on must be one of ${redeployModes.join(', ')}, not "${String(o.deploy.on)}".`);
  if (o.deploy.watch !== undefined && (!Array.isArray(o.deploy.watch) || o.deploy.watch.some((g) => typeof g !== 'string' || g === ''))) bad('Clone option deploy.watch must be a list of globs relative to the workspace, e.g. ["src/**", "pom.xml"].');
  if (o.deploy.task !== undefined && (typeof o.deploy.task !== 'string' || o.deploy.task === '')) bad('Clone option deploy.task must be the name of a task.');
  for (const [k, v] of Object.entries(o.env)) if (typeof v !== 'string' || !/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(k)) bad(`Clone option env: "${k}" is not a valid variable name or its value is not text.`);
  for (const [k, v] of Object.entries(o.labels)) if (typeof v !== 'string' || !validLabelKey(k) || !validLabelValueText(v)) bad(`Clone option labels: "${k}: ${v}" is not a valid Kubernetes label.`);
  if (o.name !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o.name)) bad(`Clone name "${o.name}" is not a valid pod name (lower-case letters, digits and '-', at most 63).`);
}

function validLabelKey(k: string): boolean {
  const parts = k.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1]!;
  if (parts.length === 2 && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(parts[0]!)) return false;
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(name);
}

function validLabelValueText(v: string): boolean {
  return v === '' || /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(v);
}

/**
 * The options that differ from the defaults: what devlane.yaml stores, so a later change of a
 * default reaches workloads that never chose otherwise.
 */
export function diffFromDefaults(o: CloneOptions, defaults: CloneOptions = cloneDefaults): CloneOptionsInput {
  return diff(o as unknown as Record<string, unknown>, defaults as unknown as Record<string, unknown>) as CloneOptionsInput;
}

function diff(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined) continue;
    const d = b[k];
    if (isPlainObject(v) && isPlainObject(d) && !isOpenMap(k)) {
      const inner = diff(v, d);
      if (Object.keys(inner).length > 0) out[k] = inner;
    } else if (JSON.stringify(v) !== JSON.stringify(d)) {
      out[k] = v;
    }
  }
  return out;
}

// Maps whose keys are the user's own (env, labels, resources) are stored whole.
function isOpenMap(key: string): boolean {
  return key === 'env' || key === 'labels' || key === 'resources';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
