import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { DevlaneError } from '../extension/core/errors';
import { silentLogger, type Logger } from '../extension/core/log';
import { kwokctlConfig } from './kwok-config';
import { binaryDir, clusterPaths, defaultClusterName, network, readVersions, repoRoot, type ClusterPaths } from './paths';
import { writeExecDispatch, writeKwokWrapper } from './pod-runner/exec-path';
import { ensureSharedNetnsDir } from './pod-runner/network';
import { deploySamples } from './samples/deploy';
import { acquireLock, isAlive, killGroupAndWait, readPid, waitUntil } from './process-util';

const execFileP = promisify(execFile);

export interface ClusterUpOptions {
  readonly name?: string;
  /** How many kwok nodes (each 4 CPU, 8 GiB, 110 pods). Default 2. Only used when creating. */
  readonly nodes?: number;
  /** Also deploy the sample workloads (namespace `shop`) and wait for them to be ready. */
  readonly samples?: boolean;
  readonly log?: Logger;
  /** Overall deadline for bringing the cluster up (not counting a first binary build). */
  readonly timeoutMs?: number;
}

export interface ClusterHandle {
  readonly name: string;
  readonly kubeconfigPath: string;
  readonly paths: ClusterPaths;
  /** True when clusterUp found it running and reused it. */
  readonly reused: boolean;
}

export interface ClusterStatus {
  readonly name: string;
  /** The control plane's processes are running and the API server answers. */
  readonly apiServer: boolean;
  readonly podRunner: boolean;
  readonly kubeconfigPath?: string;
}

export const nodeName = (i: number) => `devlane-node-${i}`;
const nodeLabel = 'devlane.dev/node';

/** Folder holding the cached control-plane binaries, building them first if needed (minutes, once). */
export async function ensureBinaries(log: Logger = silentLogger): Promise<string> {
  const dir = binaryDir();
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  log.info(`building the cluster binaries into ${dir} (first time only)`);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(repoRoot, 'cluster', 'tools', 'build-binaries.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop();
      if (code === 0 && last) resolve(last);
      else reject(new DevlaneError('artifact-missing', `Building the cluster binaries failed (exit ${code}). See ~/.cache/devlane-tools/build/ for the log, fix the cause and run "npm run cluster:up" again.`));
    });
  });
}

function kwokEnv(paths: ClusterPaths, bin: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KWOK_WORKDIR: paths.kwokHome,
    KWOK_KUBE_VERSION: readVersions().kubernetes,
    KWOK_KUBECTL_BINARY: path.join(bin, 'kubectl'),
    // kwokctl needs a kubectl for its readiness checks: ours, first.
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
  };
}

function controlPlanePids(paths: ClusterPaths): number[] {
  const dir = path.join(paths.kwokClusterDir, 'pids');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => readPid(path.join(dir, f)))
    .filter((p): p is number => p !== undefined);
}

async function apiAnswers(kubeconfigPath: string): Promise<boolean> {
  if (!fs.existsSync(kubeconfigPath)) return false;
  try {
    const kc = loadKc(kubeconfigPath);
    const cluster = kc.getCurrentCluster();
    if (!cluster) return false;
    const res = await getWithKc(kc, `${cluster.server}/readyz`, 3_000);
    return res.ok;
  } catch {
    return false;
  }
}

/** GET through the kubeconfig's TLS settings (client-node's https agent), bounded in time. */
async function getWithKc(kc: KubeConfig, url: string, timeoutMs: number): Promise<{ ok: boolean; status: number }> {
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...opts, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ ok: (res.statusCode ?? 0) < 300, status: res.statusCode ?? 0 });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export function loadKc(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

export async function clusterStatus(opts: { name?: string } = {}): Promise<ClusterStatus> {
  const paths = clusterPaths(opts.name ?? defaultClusterName);
  const pids = controlPlanePids(paths);
  const apiServer = pids.length > 0 && pids.every(isAlive) && (await apiAnswers(paths.kubeconfigPath));
  const runnerPid = readPid(paths.runnerPidFile);
  const podRunner = runnerPid !== undefined && isAlive(runnerPid) && fs.existsSync(paths.runnerReadyFile);
  return { name: paths.name, apiServer, podRunner, ...(apiServer ? { kubeconfigPath: paths.kubeconfigPath } : {}) };
}

/**
 * Brings the test/demo cluster up, or reuses it when it already runs. Idempotent: a half-up
 * cluster (some process gone) is torn down and created again.
 */
export async function clusterUp(opts: ClusterUpOptions = {}): Promise<ClusterHandle> {
  const log = opts.log ?? silentLogger;
  const paths = clusterPaths(opts.name ?? defaultClusterName);
  const bin = await ensureBinaries(log);
  // Test files run by hand may race to bring the same cluster up: one at a time.
  const release = await lockCluster(paths, (opts.timeoutMs ?? 120_000) + 60_000);
  try {
    return await clusterUpLocked(opts, paths, bin, log);
  } finally {
    release();
  }
}

function lockCluster(paths: ClusterPaths, timeoutMs: number): Promise<() => void> {
  fs.mkdirSync(path.dirname(paths.stateDir), { recursive: true });
  return acquireLock(`${paths.stateDir}.lock`, timeoutMs);
}

async function clusterUpLocked(opts: ClusterUpOptions, paths: ClusterPaths, bin: string, log: Logger): Promise<ClusterHandle> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const remaining = () => Math.max(1_000, deadline - Date.now());

  const status = await clusterStatus({ name: paths.name });
  let reused = status.apiServer;
  if (!status.apiServer) {
    await stopCluster(paths, log);
    await createControlPlane(paths, bin, log, opts.nodes ?? 2, remaining());
  } else {
    log.info(`cluster ${paths.name} is already running`);
  }
  const kc = loadKc(paths.kubeconfigPath);
  if (!status.podRunner) {
    reused = false;
    await startPodRunner(paths, log, remaining());
  }
  if (opts.samples) {
    await deploySamples(kc, {
      log,
      timeoutMs: remaining(),
      paths,
      healthy: () => {
        const pid = readPid(paths.runnerPidFile);
        if (pid === undefined || !isAlive(pid)) throw new DevlaneError('internal', `The pod runner has stopped; see ${paths.runnerLogFile}.`);
      },
    });
  }
  return { name: paths.name, kubeconfigPath: paths.kubeconfigPath, paths, reused };
}

async function createControlPlane(paths: ClusterPaths, bin: string, log: Logger, nodes: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  fs.mkdirSync(paths.stateDir, { recursive: true });
  // Before kwok starts: its mount namespace sees pods' network namespaces only through a shared /run/netns.
  await ensureSharedNetnsDir();
  const dispatcher = writeExecDispatch(paths.execDispatchDir);
  const kwokBinary = writeKwokWrapper(path.join(paths.stateDir, 'kwok'), path.join(bin, 'kwok'), dispatcher);
  const hostPath = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  fs.writeFileSync(paths.kwokctlConfigPath, kwokctlConfig({ kwokPath: `${paths.execDispatchDir}:${hostPath}`, kubeVersion: readVersions().kubernetes }));
  const args = [
    '--config', paths.kwokctlConfigPath,
    'create', 'cluster',
    '--name', paths.name,
    '--runtime', 'binary',
    // Never touch the user's ~/.kube/config: callers get our kubeconfig's path.
    '--kubeconfig', '',
    '--kube-apiserver-binary', path.join(bin, 'kube-apiserver'),
    '--kube-controller-manager-binary', path.join(bin, 'kube-controller-manager'),
    '--kube-scheduler-binary', path.join(bin, 'kube-scheduler'),
    '--kwok-controller-binary', kwokBinary,
    '--etcd-binary', path.join(bin, 'etcd'),
    '--timeout', `${Math.ceil(timeoutMs / 1000)}s`,
  ];
  log.info(`kwokctl ${args.join(' ')}`);
  try {
    await execFileP(path.join(bin, 'kwokctl'), args, { env: kwokEnv(paths, bin), maxBuffer: 16 * 1024 * 1024, timeout: timeoutMs });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new DevlaneError('cluster-unreachable', `kwokctl could not create the cluster "${paths.name}". Run "npm run cluster:down" and try again; kwokctl said: ${stderr.trim().split('\n').slice(-3).join(' ')}`, { cause: e, detail: stderr });
  }
  await waitUntil('the API server to answer /readyz', () => apiAnswers(paths.kubeconfigPath), timeoutMs);
  const kc = loadKc(paths.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < nodes; i++) await core.createNode({ body: nodeObject(i) });
  await applyCrds(paths, bin, log);
  await waitUntil(
    'the nodes to be Ready and untainted',
    async () => {
      const list = await core.listNode({ labelSelector: nodeLabel });
      return list.items.length === nodes && list.items.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && (n.spec?.taints ?? []).length === 0);
    },
    timeoutMs,
  );
  await waitUntil('the default ServiceAccount', async () => {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    } catch {
      return false;
    }
  }, timeoutMs);
  log.info(`control plane of ${paths.name} ready in ${Date.now() - started} ms`);
}

function nodeObject(i: number): V1Node {
  const name = nodeName(i);
  const capacity = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '50Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { [nodeLabel]: 'true', type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
    },
    spec: { podCIDR: network.nodeCidr(i), podCIDRs: [network.nodeCidr(i)] },
    status: {
      // The API server reaches kwok's kubelet API through the Hostname address.
      addresses: [
        { type: 'InternalIP', address: network.gateway },
        { type: 'Hostname', address: 'localhost' },
      ],
      capacity,
      allocatable: capacity,
    },
  };
}

async function applyCrds(paths: ClusterPaths, bin: string, log: Logger): Promise<void> {
  const crds = path.join(repoRoot, '..', 'shared', 'crds');
  if (!fs.existsSync(crds)) {
    throw new DevlaneError('artifact-missing', `The Istio and Gateway API CRDs are not at ${crds}: the shared/ folder must sit beside this clone.`);
  }
  const files = ['istio', 'gateway-api'].map((d) => path.join(crds, d));
  for (const f of files) {
    log.info(`applying CRDs from ${f}`);
    await execFileP(path.join(bin, 'kubectl'), ['--kubeconfig', paths.kubeconfigPath, 'apply', '--server-side', '-f', f], { maxBuffer: 16 * 1024 * 1024 });
  }
}

async function startPodRunner(paths: ClusterPaths, log: Logger, timeoutMs: number): Promise<void> {
  const old = readPid(paths.runnerPidFile);
  // A runner that died without cleaning up leaves its process group behind: end it first.
  if (old !== undefined) await killGroupAndWait(old, 10_000);
  fs.rmSync(paths.runnerReadyFile, { force: true });
  fs.mkdirSync(paths.stateDir, { recursive: true });
  const out = fs.openSync(paths.runnerLogFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'cluster', 'pod-runner', 'main.ts'), '--name', paths.name, '--kubeconfig', paths.kubeconfigPath], {
    cwd: repoRoot,
    // Its own process group, so clusterDown can end it and everything it started in one signal.
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, DEVLANE_LOG: process.env.DEVLANE_LOG ?? 'info' },
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new DevlaneError('internal', 'The pod runner did not start.');
  fs.writeFileSync(paths.runnerPidFile, String(child.pid));
  child.unref();
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  await waitUntil(
    'the pod runner to be ready',
    () => {
      if (exited !== undefined) throw new DevlaneError('internal', `The pod runner exited (code ${exited}) while starting. See ${paths.runnerLogFile}.`);
      return fs.existsSync(paths.runnerReadyFile);
    },
    timeoutMs,
  );
  log.info(`pod runner ${child.pid} ready`);
}

/** Stops everything clusterUp started: the pod runner (with all pods' processes and networks) and the control plane. */
export async function clusterDown(opts: { name?: string; log?: Logger } = {}): Promise<void> {
  const log = opts.log ?? silentLogger;
  const paths = clusterPaths(opts.name ?? defaultClusterName);
  const release = await lockCluster(paths, 120_000);
  try {
    await stopCluster(paths, log);
  } finally {
    release();
  }
}

async function stopCluster(paths: ClusterPaths, log: Logger): Promise<void> {
  const runner = readPid(paths.runnerPidFile);
  if (runner !== undefined) {
    log.info(`stopping pod runner ${runner}`);
    await killGroupAndWait(runner, 15_000);
  }
  // Whatever the runner could not clean (it was killed hard): network namespaces and their veths.
  const { cleanupClusterNetwork } = await import('./pod-runner/network');
  await cleanupClusterNetwork(log);
  const pids = controlPlanePids(paths);
  if (fs.existsSync(paths.kwokClusterDir)) {
    const bin = binaryDir();
    log.info(`deleting kwok cluster ${paths.name}`);
    try {
      await execFileP(path.join(bin, 'kwokctl'), ['delete', 'cluster', '--name', paths.name], { env: kwokEnv(paths, bin) });
    } catch (e) {
      log.warn(`kwokctl delete cluster failed: ${(e as Error).message}`);
    }
  }
  for (const pid of pids) await killGroupAndWait(pid, 10_000, false);
  fs.rmSync(paths.kwokClusterDir, { recursive: true, force: true });
  fs.rmSync(paths.stateDir, { recursive: true, force: true });
}
