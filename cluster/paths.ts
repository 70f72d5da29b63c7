import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';

/** The repository root (cluster/ sits directly under it). */
export const repoRoot = path.resolve(__dirname, '..');

export const defaultClusterName = 'devlane';

/**
 * Pod and service address plan. The bridge lives in the cluster network namespace and owns the
 * gateway address; each node hands out pod IPs from its own /24 inside podNetwork (kwok allocates
 * them from the node's spec.podCIDR). Services get ClusterIPs from serviceNetwork.
 */
export const network = {
  podNetwork: '10.244.0.0/16',
  prefixLength: 16,
  gateway: '10.244.0.1',
  nodeCidr: (i: number) => `10.244.${i + 1}.0/24`,
  serviceNetwork: '10.96.0.0/16',
  clusterDomain: 'cluster.local',
  /** Network namespace that holds the bridge, the Service NAT rules and the DNS server. */
  clusterNetns: 'devlane-net',
  bridge: 'dl0',
} as const;

export interface ClusterPaths {
  readonly name: string;
  /** ~/.cache/devlane-tools (or $DEVLANE_TOOLS). */
  readonly toolsDir: string;
  /** KWOK_WORKDIR: kwokctl keeps clusters under <kwokHome>/clusters/<name>. */
  readonly kwokHome: string;
  /** kwokctl's folder for this cluster (pki, etcd data, logs, kubeconfig). */
  readonly kwokClusterDir: string;
  readonly kubeconfigPath: string;
  /** Our own files for this cluster: kwokctl config, runner pid and log, pods' state. */
  readonly stateDir: string;
  readonly kwokctlConfigPath: string;
  readonly runnerPidFile: string;
  readonly runnerLogFile: string;
  readonly runnerReadyFile: string;
  /** Per-pod folders (volumes, logs, container pid files, rootfs mount points). */
  readonly podsDir: string;
  /** First on kwok's PATH: every host command name, each a link to the exec dispatcher. */
  readonly execDispatchDir: string;
  /** Compiled sample workloads ("images"). */
  readonly imagesDir: string;
}

export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEVLANE_TOOLS ?? path.join(os.homedir(), '.cache', 'devlane-tools');
}

export function clusterPaths(name = defaultClusterName, env: NodeJS.ProcessEnv = process.env): ClusterPaths {
  const tools = toolsDir(env);
  const kwokHome = path.join(tools, 'kwok');
  const kwokClusterDir = path.join(kwokHome, 'clusters', name);
  // Kept outside any folder a pod's root filesystem shows (pods see the host's / through an
  // overlay, but /run is replaced by a fresh tmpfs inside every pod).
  const stateDir = path.join('/run', 'devlane-cluster', name);
  return {
    name,
    toolsDir: tools,
    kwokHome,
    kwokClusterDir,
    kubeconfigPath: path.join(kwokClusterDir, 'kubeconfig.yaml'),
    stateDir,
    kwokctlConfigPath: path.join(stateDir, 'kwokctl.yaml'),
    runnerPidFile: path.join(stateDir, 'pod-runner.pid'),
    runnerLogFile: path.join(stateDir, 'pod-runner.log'),
    runnerReadyFile: path.join(stateDir, 'pod-runner.ready'),
    podsDir: path.join(stateDir, 'pods'),
    execDispatchDir: path.join(stateDir, 'exec-path'),
    imagesDir: path.join(tools, 'cluster-images'),
  };
}

export interface Versions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly kwok: string;
}

export function readVersions(): Versions {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, 'cluster', 'versions.json'), 'utf8')) as Versions;
}

/** Where build-binaries.sh puts (or has put) the binaries for the pinned versions. */
export function binaryDir(env: NodeJS.ProcessEnv = process.env): string {
  const v = readVersions();
  return path.join(toolsDir(env), 'cluster-bin', `k8s-${v.kubernetes}-etcd-${v.etcd}-kwok-${v.kwok}`);
}
