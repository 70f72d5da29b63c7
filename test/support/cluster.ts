/**
 * The test cluster for integration tests. Under `npm test` the orchestrator brings it up once and
 * exports DEVLANE_TEST_KUBECONFIG; a file run by hand brings it up itself (and leaves it running
 * for the next run: `npm run cluster:down` ends it).
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import { CoreV1Api, Exec, KubeConfig, PortForward, RbacAuthorizationV1Api, type V1PolicyRule, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { clusterUp } from '../../cluster/api';
import { consoleLogger } from '../../extension/core/log';
import { waitFor } from './wait';

export interface TestCluster {
  readonly kubeconfigPath: string;
  readonly kc: KubeConfig;
}

export async function testCluster(): Promise<TestCluster> {
  let kubeconfigPath = process.env.DEVLANE_TEST_KUBECONFIG;
  if (!kubeconfigPath) {
    const c = await clusterUp({ samples: true, log: consoleLogger('warn', 'test-cluster') });
    kubeconfigPath = c.kubeconfigPath;
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kubeconfigPath, kc };
}

export interface TestNamespace {
  readonly name: string;
  /** Deletes the namespace and waits (bounded) until it is gone. */
  dispose(): Promise<void>;
}

/** A fresh namespace (`<prefix>-<random>`) whose default ServiceAccount exists, so pods can be created at once. */
export async function testNamespace(kc: KubeConfig, prefix = 't'): Promise<TestNamespace> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 63);
  await core.createNamespace({ body: { metadata: { name, labels: { 'devlane.dev/test': 'true' } } } });
  await waitFor(`the default ServiceAccount in ${name}`, async () => {
    await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
    return true;
  });
  return {
    name,
    async dispose() {
      try {
        // Pods first, at once: otherwise the namespace controller waits out their grace periods
        // (and its own back-off) before it removes the namespace.
        await core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0 } });
        await core.deleteNamespace({ name });
      } catch {
        return;
      }
      await waitFor(
        `namespace ${name} to be deleted`,
        async () => {
          try {
            await core.readNamespace({ name });
            return false;
          } catch (e) {
            return (e as { code?: number }).code === 404;
          }
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
    },
  };
}

const isReady = (p: V1Pod) => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Waits until the pod is Running and Ready; returns it. */
export async function waitForPodReady(kc: KubeConfig, namespace: string, name: string, timeoutMs = 90_000): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitFor(
    `pod ${namespace}/${name} to be Running and Ready`,
    async () => {
      const p = await core.readNamespacedPod({ name, namespace });
      return isReady(p) ? p : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Waits until `count` pods matching the selector are Running and Ready; returns them. */
export async function waitForReadyPods(kc: KubeConfig, namespace: string, labelSelector: string, count = 1, timeoutMs = 90_000): Promise<V1Pod[]> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitFor(
    `${count} ready pod(s) ${labelSelector} in ${namespace}`,
    async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector });
      const ready = list.items.filter((p) => isReady(p) && !p.metadata?.deletionTimestamp);
      return ready.length >= count ? ready : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Waits until the pod reaches one of the phases (e.g. Succeeded/Failed for run-to-completion pods). */
export async function waitForPodPhase(kc: KubeConfig, namespace: string, name: string, phases: readonly string[], timeoutMs = 90_000): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitFor(
    `pod ${namespace}/${name} to reach ${phases.join('/')}`,
    async () => {
      const p = await core.readNamespacedPod({ name, namespace });
      return phases.includes(p.status?.phase ?? '') ? p : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The status the API server relays: "Success", or "Failure" (kwok: reason InternalError, the exit status only in the message). */
  readonly status: string;
  readonly message?: string;
}

/** Runs a command in a container through the API server (websocket exec) and collects its output. */
export async function execInPod(kc: KubeConfig, namespace: string, pod: string, container: string, command: string[], timeoutMs = 30_000): Promise<ExecResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let status: V1Status | undefined;
    const finish = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve({ stdout: out, stderr: err, status: status?.status ?? 'Unknown', ...(status?.message ? { message: status.message } : {}) });
    };
    const timer = setTimeout(() => finish(new Error(`exec ${command.join(' ')} in ${namespace}/${pod} did not finish within ${timeoutMs} ms`)), timeoutMs);
    new Exec(kc)
      .exec(namespace, pod, container, command, stdout, stderr, null, false, (s) => {
        status = s;
      })
      .then((ws) => {
        // The status frame comes before the close; output may still be in the pipes at that point.
        ws.on('close', () => setImmediate(() => finish()));
        ws.on('error', (e) => finish(e));
      }, finish);
  });
}

export interface LocalForward {
  /** Local port on 127.0.0.1 that reaches the pod's port. */
  readonly port: number;
  close(): Promise<void>;
}

/** A local listener forwarding each accepted connection to the pod's port (one websocket per connection). */
export async function forwardToPod(kc: KubeConfig, namespace: string, pod: string, port: number): Promise<LocalForward> {
  const pf = new PortForward(kc);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    pf.portForward(namespace, pod, [port], socket, null, socket).then(
      (ws) => {
        const w = ws as unknown as { on(ev: string, l: () => void): void };
        w.on('close', () => socket.destroy());
        w.on('error', () => socket.destroy());
        socket.on('close', () => (ws as unknown as { close(): void }).close());
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Waits until the pod is Running and Ready (its processes run and its readiness probe passed); returns it. */
export const waitForPodRunning = waitForPodReady;

/**
 * A KubeConfig for a service account of `namespace` allowed only `rules` there (a Role bound to it,
 * a 10-minute token): how tests meet the cluster as a developer with narrow RBAC. The rules must
 * allow listing pods: that is how it waits until the Role takes effect.
 */
export async function limitedUser(kc: KubeConfig, namespace: string, name: string, rules: V1PolicyRule[]): Promise<KubeConfig> {
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({ namespace, body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace }] } });
  const token = (await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 600 } } })).status?.token;
  if (!token) throw new Error(`no token for the service account ${namespace}/${name}`);
  const cluster = kc.getCurrentCluster()!;
  const limited = new KubeConfig();
  limited.loadFromOptions({ clusters: [cluster], users: [{ name, token }], contexts: [{ name, cluster: cluster.name, user: name, namespace }], currentContext: name });
  await waitFor('the Role to take effect', () => limited.makeApiClient(CoreV1Api).listNamespacedPod({ namespace }).then(() => true), { timeoutMs: 30_000, intervalMs: 250 });
  return limited;
}
