import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Container, type V1ContainerState, type V1Pod, type V1Probe } from '@kubernetes/client-node';
import type { Logger } from '../../extension/core/log';
import { network } from '../paths';
import { Container, maxGraceSeconds, type ContainerState } from './container';
import { addPodNetwork, listeningPorts, removePodNetwork } from './network';
import { containerArgv, containerEnv, declaredPorts, fieldRef, imagePullError, imageRepository, pullBackOffMs, podHostname, podHosts, podResolvConf, resolvePort, SpecError, type ImageResolver, type Lookups } from './spec';

/** Ports a port-forward should reach even before anything listens there (debuggers attach on demand). */
const wellKnownPorts = [5005, 8000, 9229];

export interface PodContext {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly podsDir: string;
  readonly images: ImageResolver;
}

const kwokGroup = { group: 'kwok.x-k8s.io', version: 'v1alpha1' };

/**
 * One pod on a kwok node, made real: its network namespace with the IP kwok assigned, volumes on
 * disk, one Container per spec container, readiness probes, kwok's Exec/Logs/PortForward
 * resources pointing into it, and a status written back the way a kubelet does.
 */
export class PodInstance {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly containers = new Map<string, Container>();
  private readonly ready = new Map<string, boolean>();
  private readonly waitingErrors = new Map<string, { reason: string; message: string }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private netnsPath: string | undefined;
  private forwardedPorts = '';
  private statusQueued = false;
  private statusChain: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly dir: string;

  constructor(private pod: V1Pod, private readonly ctx: PodContext) {
    this.core = ctx.kc.makeApiClient(CoreV1Api);
    this.custom = ctx.kc.makeApiClient(CustomObjectsApi);
    this.dir = path.join(ctx.podsDir, `${this.ns}_${this.name}_${this.uid}`);
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }
  get name(): string {
    return this.pod.metadata?.name ?? '';
  }
  get ns(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }
  private get restartPolicy(): 'Always' | 'OnFailure' | 'Never' {
    const p = this.pod.spec?.restartPolicy;
    return p === 'Never' || p === 'OnFailure' ? p : 'Always';
  }

  update(pod: V1Pod): void {
    this.pod = pod;
  }

  async start(): Promise<void> {
    const log = this.ctx.log;
    fs.mkdirSync(this.dir, { recursive: true });
    const hostNetwork = this.pod.spec?.hostNetwork === true;
    if (!hostNetwork) this.netnsPath = await addPodNetwork(this.uid, this.pod.status?.podIP ?? '');
    const etcDir = path.join(this.dir, 'etc');
    fs.mkdirSync(etcDir, { recursive: true });
    fs.writeFileSync(path.join(etcDir, 'hosts'), podHosts(this.pod));
    fs.writeFileSync(path.join(etcDir, 'hostname'), `${podHostname(this.pod)}\n`);
    fs.writeFileSync(path.join(etcDir, 'resolv.conf'), hostNetwork ? fs.readFileSync('/etc/resolv.conf', 'utf8') : podResolvConf(this.ns, network.gateway, network.clusterDomain));

    const lookups = await this.fetchLookups();
    const volumes = this.materialiseVolumes(lookups);
    for (const c of this.pod.spec?.containers ?? []) {
      const pullError = imagePullError(c.image ?? '');
      if (pullError) {
        this.failPulls(c.name, c.image ?? '', pullError, 1);
        continue;
      }
      try {
        const container = this.makeContainer(c, lookups, volumes, etcDir);
        this.containers.set(c.name, container);
        this.ready.set(c.name, false);
      } catch (e) {
        if (!(e instanceof SpecError)) throw e;
        log.warn(`pod ${this.ns}/${this.name} container ${c.name}: ${e.message}`);
        this.waitingErrors.set(c.name, { reason: e.reason, message: e.message });
        void this.event('Warning', 'Failed', `Error: ${e.message}`, c.name);
      }
    }
    await this.createKwokResources();
    for (const [name, c] of this.containers) {
      c.onEvent((e) => {
        if (e.type === 'started') {
          this.ready.set(name, false);
          void this.event('Normal', 'Started', e.message, name);
          this.startProbes(name, c);
        } else if (e.type === 'exited') {
          this.ready.set(name, false);
        } else if (e.type === 'backoff') {
          void this.event('Warning', 'BackOff', e.message, name);
        }
        this.queueStatus();
      });
      if (!this.pod.spec?.containers?.find((x) => x.name === name)?.readinessProbe) this.readyWhenRunning(name);
      c.start();
    }
    this.queueStatus();
    this.every(1_000, () => this.syncForwards());
  }

  /**
   * A container whose image cannot be pulled never starts: like a kubelet, it waits in
   * ErrImagePull at each attempt and in ImagePullBackOff between attempts, with events for both.
   */
  private failPulls(name: string, image: string, error: string, attempt: number): void {
    if (this.stopped) return;
    this.ctx.log.warn(`pod ${this.ns}/${this.name} container ${name}: ${error}`);
    this.waitingErrors.set(name, { reason: 'ErrImagePull', message: error });
    void this.event('Normal', 'Pulling', `Pulling image "${image}"`, name);
    void this.event('Warning', 'Failed', `Failed to pull image "${image}": ${error}`, name);
    void this.event('Warning', 'Failed', 'Error: ErrImagePull', name);
    this.queueStatus();
    // The error shows for a moment, then the back-off until the next attempt.
    const toBackOff = setTimeout(() => {
      this.timers.delete(toBackOff);
      if (this.stopped) return;
      this.waitingErrors.set(name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` });
      void this.event('Normal', 'BackOff', `Back-off pulling image "${image}"`, name);
      void this.event('Warning', 'Failed', 'Error: ImagePullBackOff', name);
      this.queueStatus();
      const retry = setTimeout(() => {
        this.timers.delete(retry);
        this.failPulls(name, image, error, attempt + 1);
      }, pullBackOffMs(attempt));
      this.timers.add(retry);
    }, 1_000);
    this.timers.add(toBackOff);
  }

  private readyWhenRunning(name: string): void {
    const c = this.containers.get(name);
    c?.onEvent((e) => {
      if (e.type === 'started') {
        this.ready.set(name, true);
        this.queueStatus();
      }
    });
  }

  private makeContainer(c: V1Container, lookups: Lookups, volumes: Map<string, string>, etcDir: string): Container {
    const image = this.ctx.images(imageRepository(c.image ?? ''));
    const env = containerEnv(this.pod, c, lookups);
    const argv = containerArgv(c, env, image);
    const mounts: { source: string; target: string; readOnly: boolean }[] = [];
    if (image?.content) mounts.push({ source: image.content.source, target: image.content.target, readOnly: true });
    for (const m of c.volumeMounts ?? []) {
      const src = volumes.get(m.name);
      if (!src) throw new SpecError('CreateContainerConfigError', `volume "${m.name}" is not defined or not supported`);
      const source = m.subPath ? path.join(src, m.subPath) : src;
      if (m.subPath && !fs.existsSync(source)) fs.mkdirSync(source, { recursive: true });
      mounts.push({ source, target: m.mountPath, readOnly: m.readOnly === true });
    }
    return new Container(
      {
        name: c.name,
        argv,
        env,
        workingDir: c.workingDir ?? image?.workingDir ?? '/',
        netnsPath: this.netnsPath,
        hostname: podHostname(this.pod),
        etcDir,
        mounts,
        restartPolicy: this.restartPolicy,
        terminationGraceSeconds: this.pod.spec?.terminationGracePeriodSeconds ?? 30,
      },
      path.join(this.dir, 'containers', c.name),
      this.ctx.log,
    );
  }

  /** ConfigMaps and Secrets the pod refers to, read once at start (updates do not propagate). */
  private async fetchLookups(): Promise<Lookups> {
    const cms = new Set<string>();
    const secrets = new Set<string>();
    const spec = this.pod.spec;
    for (const c of spec?.containers ?? []) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.configMapKeyRef?.name) cms.add(e.valueFrom.configMapKeyRef.name);
        if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
      }
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef?.name) cms.add(e.configMapRef.name);
        if (e.secretRef?.name) secrets.add(e.secretRef.name);
      }
    }
    for (const v of spec?.volumes ?? []) {
      if (v.configMap?.name) cms.add(v.configMap.name);
      if (v.secret?.secretName) secrets.add(v.secret.secretName);
      for (const s of v.projected?.sources ?? []) {
        if (s.configMap?.name) cms.add(s.configMap.name);
        if (s.secret?.name) secrets.add(s.secret.name);
      }
    }
    const cmData = new Map<string, Record<string, string>>();
    const secretData = new Map<string, Record<string, string>>();
    await Promise.all([
      ...[...cms].map(async (name) => {
        try {
          const cm = await this.core.readNamespacedConfigMap({ name, namespace: this.ns });
          const data: Record<string, string> = { ...(cm.data ?? {}) };
          for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(v, 'base64').toString('latin1');
          cmData.set(name, data);
        } catch {
          // missing: reported where it is needed
        }
      }),
      ...[...secrets].map(async (name) => {
        try {
          const s = await this.core.readNamespacedSecret({ name, namespace: this.ns });
          const data: Record<string, string> = {};
          for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
          for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = v;
          secretData.set(name, data);
        } catch {
          // missing: reported where it is needed
        }
      }),
    ]);
    return { configMap: (_ns, name) => cmData.get(name), secret: (_ns, name) => secretData.get(name) };
  }

  private materialiseVolumes(lookups: Lookups): Map<string, string> {
    const out = new Map<string, string>();
    const writeKeys = (dir: string, data: Record<string, string> | undefined, items: { key: string; path: string; mode?: number }[] | undefined, mode: number | undefined) => {
      if (!data) return;
      const entries = items ? items.map((i) => [i.path, data[i.key], i.mode] as const) : Object.entries(data).map(([k, v]) => [k, v, undefined] as const);
      for (const [rel, value, itemMode] of entries) {
        if (value === undefined) continue;
        const file = path.join(dir, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, value, { mode: itemMode ?? mode ?? 0o644 });
      }
    };
    for (const v of this.pod.spec?.volumes ?? []) {
      if (v.hostPath) {
        if (v.hostPath.type === 'DirectoryOrCreate') fs.mkdirSync(v.hostPath.path, { recursive: true });
        out.set(v.name, v.hostPath.path);
        continue;
      }
      const dir = path.join(this.dir, 'volumes', v.name);
      fs.mkdirSync(dir, { recursive: true });
      if (v.configMap) writeKeys(dir, lookups.configMap(this.ns, v.configMap.name ?? ''), v.configMap.items, v.configMap.defaultMode);
      else if (v.secret) writeKeys(dir, lookups.secret(this.ns, v.secret.secretName ?? ''), v.secret.items, v.secret.defaultMode);
      else if (v.downwardAPI) {
        const data: Record<string, string> = {};
        for (const i of v.downwardAPI.items ?? []) if (i.fieldRef) data[i.path] = fieldRef(this.pod, i.fieldRef.fieldPath) ?? '';
        writeKeys(dir, data, undefined, v.downwardAPI.defaultMode);
      } else if (v.projected) {
        for (const s of v.projected.sources ?? []) {
          if (s.configMap) writeKeys(dir, lookups.configMap(this.ns, s.configMap.name ?? ''), s.configMap.items, v.projected.defaultMode);
          if (s.secret) writeKeys(dir, lookups.secret(this.ns, s.secret.name ?? ''), s.secret.items, v.projected.defaultMode);
          if (s.downwardAPI) {
            const data: Record<string, string> = {};
            for (const i of s.downwardAPI.items ?? []) if (i.fieldRef) data[i.path] = fieldRef(this.pod, i.fieldRef.fieldPath) ?? '';
            writeKeys(dir, data, undefined, v.projected.defaultMode);
          }
        }
      } else if (!v.emptyDir) {
        // PVCs and other volume sources: an empty folder, so the pod still starts.
        this.ctx.log.warn(`pod ${this.ns}/${this.name}: volume ${v.name} of an unsupported kind is an empty folder`);
      }
      out.set(v.name, dir);
    }
    return out;
  }

  private owner() {
    return [{ apiVersion: 'v1', kind: 'Pod', name: this.name, uid: this.uid, controller: false, blockOwnerDeletion: false }];
  }

  private async createKwokResources(): Promise<void> {
    const meta = { name: this.name, namespace: this.ns, ownerReferences: this.owner(), labels: { 'devlane.dev/pod-runner': 'true' } };
    const logs = [...this.containers.entries()].map(([name, c]) => ({ containers: [name], logsFile: c.logFile, previousLogsFile: c.previousLogFile, follow: true }));
    const execs = [...this.containers.entries()].map(([name, c]) => ({
      containers: [name],
      local: {
        envs: [...Object.entries(c.launch.env).map(([k, v]) => ({ name: k, value: v })), { name: 'DEVLANE_EXEC_PIDFILE', value: c.pidFile }],
      },
    }));
    await this.createOrReplace('logs', { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Logs', metadata: meta, spec: { logs } });
    await this.createOrReplace('execs', { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Exec', metadata: meta, spec: { execs } });
    // `kubectl attach` shows the container's output as it comes (stdin is not connected).
    const attaches = [...this.containers.entries()].map(([name, c]) => ({ containers: [name], logsFile: c.logFile }));
    await this.createOrReplace('attaches', { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Attach', metadata: meta, spec: { attaches } });
    await this.syncForwards();
  }

  private async createOrReplace(plural: string, body: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; ownerReferences?: unknown[] }; spec: unknown }): Promise<void> {
    try {
      await this.custom.createNamespacedCustomObject({ ...kwokGroup, namespace: this.ns, plural, body });
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
      await this.custom.patchNamespacedCustomObject({ ...kwokGroup, namespace: this.ns, plural, name: body.metadata.name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
  }

  /** One forward per port that is declared, well known, or found listening in the pod's network. */
  private async syncForwards(): Promise<void> {
    if (this.stopped) return;
    const ports = new Set<number>([...declaredPorts(this.pod), ...wellKnownPorts]);
    for (const c of this.containers.values()) {
      const pid = c.pid;
      if (pid !== undefined) for (const p of listeningPorts(pid)) ports.add(p);
    }
    const sorted = [...ports].sort((a, b) => a - b);
    const key = sorted.join(',');
    if (key === this.forwardedPorts) return;
    const forwards = sorted.map((port) =>
      this.netnsPath
        ? { ports: [port], command: ['/usr/bin/nsenter', `--net=${this.netnsPath}`, '/usr/bin/socat', 'STDIO', `TCP:127.0.0.1:${port}`] }
        : { ports: [port], target: { address: '127.0.0.1', port } },
    );
    try {
      await this.createOrReplace('portforwards', { apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'PortForward', metadata: { name: this.name, namespace: this.ns, ownerReferences: this.owner() }, spec: { forwards } });
      this.forwardedPorts = key;
    } catch (e) {
      this.ctx.log.warn(`pod ${this.ns}/${this.name}: updating its PortForward failed: ${(e as Error).message}`);
    }
  }

  private every(ms: number, fn: () => Promise<void> | void): void {
    const tick = () => {
      if (this.stopped) return;
      const t = setTimeout(async () => {
        this.timers.delete(t);
        try {
          await fn();
        } finally {
          tick();
        }
      }, ms);
      this.timers.add(t);
    };
    tick();
  }

  private startProbes(name: string, c: Container): void {
    const spec = this.pod.spec?.containers?.find((x) => x.name === name);
    if (spec?.readinessProbe) this.startProbe(name, c, spec.readinessProbe, 'Readiness');
    if (spec?.livenessProbe) this.startProbe(name, c, spec.livenessProbe, 'Liveness');
  }

  /** Runs one probe on its period while this run of the container lasts. */
  private startProbe(name: string, c: Container, probe: V1Probe, kind: 'Readiness' | 'Liveness'): void {
    const period = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    const initial = (probe.initialDelaySeconds ?? 0) * 1000;
    const success = kind === 'Liveness' ? 1 : (probe.successThreshold ?? 1);
    const failure = probe.failureThreshold ?? 3;
    const startedAt = c.state.kind === 'running' ? c.state.startedAt : '';
    let ok = 0;
    let bad = 0;
    const runOnce = async () => {
      if (this.stopped || c.state.kind !== 'running' || c.state.startedAt !== startedAt) return false;
      const passed = await this.check(probe, c);
      if (passed) {
        ok++;
        bad = 0;
        if (kind === 'Readiness' && ok >= success && !this.ready.get(name)) {
          this.ready.set(name, true);
          this.queueStatus();
        }
        return true;
      }
      bad++;
      ok = 0;
      if (bad < failure) return true;
      if (kind === 'Readiness' && this.ready.get(name)) {
        this.ready.set(name, false);
        void this.event('Warning', 'Unhealthy', 'Readiness probe failed', name);
        this.queueStatus();
      }
      if (kind === 'Liveness') {
        void this.event('Warning', 'Unhealthy', 'Liveness probe failed', name);
        void this.event('Normal', 'Killing', `Container ${name} failed liveness probe, will be restarted`, name);
        await c.kill();
        return false;
      }
      return true;
    };
    const loop = (delay: number) => {
      const t = setTimeout(async () => {
        this.timers.delete(t);
        if (await runOnce()) loop(period);
      }, delay);
      this.timers.add(t);
    };
    loop(initial);
  }

  private check(probe: V1Probe, c: Container): Promise<boolean> {
    const timeout = Math.max(1, probe.timeoutSeconds ?? 1);
    const inNet = (argv: string[]) => (this.netnsPath ? ['/usr/bin/nsenter', `--net=${this.netnsPath}`, ...argv] : argv);
    let argv: string[] | undefined;
    if (probe.tcpSocket) {
      const port = resolvePort(this.pod, probe.tcpSocket.port as number | string);
      if (port !== undefined) argv = inNet(['/usr/bin/socat', '-u', 'OPEN:/dev/null', `TCP:127.0.0.1:${port},connect-timeout=${timeout}`]);
    } else if (probe.httpGet) {
      const port = resolvePort(this.pod, probe.httpGet.port as number | string);
      const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
      if (port !== undefined) argv = inNet(['/usr/bin/curl', '-sfk', '-o', '/dev/null', '--max-time', String(timeout), `${scheme}://127.0.0.1:${port}${probe.httpGet.path ?? '/'}`]);
    } else if (probe.exec?.command?.length) {
      const pid = c.pid;
      if (pid === undefined) return Promise.resolve(false);
      argv = ['/usr/bin/nsenter', '--target', String(pid), '--mount', '--uts', '--net', '--pid', '--root', '--wd', '--', ...probe.exec.command];
    } else {
      // gRPC probes are not supported here: treated as passing.
      return Promise.resolve(true);
    }
    if (!argv) return Promise.resolve(false);
    const [cmd, ...args] = argv;
    return new Promise((resolve) => {
      const child = spawn(cmd as string, args, { stdio: 'ignore', env: { ...c.launch.env } });
      const t = setTimeout(() => child.kill('SIGKILL'), (timeout + 1) * 1000);
      child.on('error', () => resolve(false));
      child.on('exit', (code) => {
        clearTimeout(t);
        resolve(code === 0);
      });
    });
  }

  private async event(type: 'Normal' | 'Warning', reason: string, message: string, container?: string): Promise<void> {
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace: this.ns,
        body: {
          metadata: { generateName: `${this.name}.`, namespace: this.ns },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', name: this.name, namespace: this.ns, uid: this.uid, ...(container ? { fieldPath: `spec.containers{${container}}` } : {}) },
          reason,
          message,
          type,
          source: { component: 'kubelet', host: this.pod.spec?.nodeName },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: 'kubelet',
          reportingInstance: this.pod.spec?.nodeName ?? '',
        },
      });
    } catch (e) {
      this.ctx.log.debug(`event ${reason} for ${this.ns}/${this.name}: ${(e as Error).message}`);
    }
  }

  private queueStatus(): void {
    if (this.statusQueued) return;
    this.statusQueued = true;
    this.statusChain = this.statusChain.then(async () => {
      await new Promise((r) => setTimeout(r, 30));
      this.statusQueued = false;
      if (this.stopped) return;
      try {
        await this.core.patchNamespacedPodStatus({ name: this.name, namespace: this.ns, body: { status: this.status() } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
      } catch (e) {
        this.ctx.log.warn(`status of ${this.ns}/${this.name}: ${(e as Error).message}`);
      }
    });
  }

  private status() {
    const now = new Date().toISOString();
    const specContainers = this.pod.spec?.containers ?? [];
    const statuses = specContainers.map((sc) => {
      const c = this.containers.get(sc.name);
      const err = this.waitingErrors.get(sc.name);
      const state: ContainerState = c ? c.state : { kind: 'waiting', reason: err?.reason ?? 'CreateContainerError', message: err?.message ?? '' };
      return {
        name: sc.name,
        image: sc.image,
        imageID: '',
        containerID: c ? `devlane://${this.uid}/${sc.name}/${c.restartCount}` : undefined,
        ready: this.ready.get(sc.name) === true && state.kind === 'running',
        started: state.kind === 'running',
        restartCount: c?.restartCount ?? 0,
        state: criState(state),
        lastState: c?.lastState ? criState(c.lastState) : { waiting: null, running: null, terminated: null },
      };
    });
    const allReady = statuses.length > 0 && statuses.every((s) => s.ready);
    const states = [...this.containers.values()].map((c) => c.state);
    let phase: string = 'Pending';
    if (states.some((s) => s.kind === 'running') || statuses.some((s) => s.restartCount > 0)) phase = 'Running';
    if (states.length === specContainers.length && states.length > 0 && states.every((s) => s.kind === 'terminated')) {
      const failed = states.some((s) => s.kind === 'terminated' && s.exitCode !== 0);
      if (this.restartPolicy === 'Never') phase = failed ? 'Failed' : 'Succeeded';
      else if (this.restartPolicy === 'OnFailure' && !failed) phase = 'Succeeded';
    }
    const cond = (type: string, ok: boolean, reason?: string) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: now, lastProbeTime: null, reason: ok ? null : (reason ?? null) });
    const prior = new Map((this.pod.status?.conditions ?? []).map((c) => [c.type, c]));
    // Keep the transition time of a condition that did not change.
    const keep = (c: ReturnType<typeof cond>) => {
      const p = prior.get(c.type);
      return p && p.status === c.status && p.lastTransitionTime ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
    };
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    return {
      phase,
      conditions: [cond('Ready', allReady && !terminal, terminal ? 'PodCompleted' : 'ContainersNotReady'), cond('ContainersReady', allReady && !terminal, terminal ? 'PodCompleted' : 'ContainersNotReady')].map(keep),
      containerStatuses: statuses,
    };
  }

  /** Ends the pod's processes (SIGTERM, SIGKILL after the grace period) and its network namespace. Idempotent. */
  async stop(graceSeconds?: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const graceMs = graceSeconds === undefined ? undefined : Math.min(graceSeconds, maxGraceSeconds) * 1000;
    await Promise.all([...this.containers.values()].map((c) => c.stop(graceMs)));
    await removePodNetwork(this.uid);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function criState(s: ContainerState): V1ContainerState | Record<string, unknown> {
  // Strategic merge patches merge the state object: name every key so the old one is removed.
  switch (s.kind) {
    case 'waiting':
      return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) }, running: null, terminated: null };
    case 'running':
      return { waiting: null, running: { startedAt: s.startedAt }, terminated: null };
    case 'terminated':
      return { waiting: null, running: null, terminated: { exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt, finishedAt: s.finishedAt, ...(s.signal ? { signal: s.signal } : {}) } };
  }
}
