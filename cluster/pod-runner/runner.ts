import * as fs from 'node:fs';
import { CoreV1Api, makeInformer, type Informer, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../extension/core/log';
import type { ClusterPaths } from '../paths';
import { sampleImages } from '../samples/images';
import { cleanupClusterNetwork, createClusterNetwork } from './network';
import { PodInstance } from './pod';
import { ServiceProxy } from './services';

/** Nodes whose pods we run: the ones clusterUp creates. */
export const ourNode = (nodeName: string | undefined) => nodeName !== undefined && nodeName.startsWith('devlane-node-');

/**
 * The kubelet stand-in for every kwok node of the cluster: watches pods bound to them and runs
 * each as a PodInstance; runs the ServiceProxy (Service NAT + DNS) of the cluster network.
 */
export class PodRunner {
  private readonly core: CoreV1Api;
  private readonly informer: Informer<V1Pod>;
  private readonly pods = new Map<string, PodInstance>();
  /** Per pod uid, the chain of start/stop work, so events for one pod apply in order. */
  private readonly work = new Map<string, Promise<void>>();
  private readonly proxy: ServiceProxy;
  private disposed = false;

  constructor(private readonly kc: KubeConfig, private readonly paths: ClusterPaths, private readonly log: Logger) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.informer = makeInformer(kc, '/api/v1/pods', () => this.core.listPodForAllNamespaces());
    this.proxy = new ServiceProxy(kc, paths.stateDir, log);
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.paths.podsDir, { recursive: true });
    await createClusterNetwork(this.log);
    await this.proxy.start();
    this.informer.on('add', (p) => this.enqueue(p));
    this.informer.on('update', (p) => this.enqueue(p));
    this.informer.on('delete', (p) => this.enqueue(p, true));
    this.informer.on('error', (e: unknown) => {
      if (this.disposed) return;
      this.log.warn(`pod watch ended (${String(e)}); restarting`);
      setTimeout(() => void this.informer.start().catch(() => undefined), 1_000);
    });
    await this.informer.start();
  }

  private enqueue(pod: V1Pod, deleted = false): void {
    if (this.disposed || !ourNode(pod.spec?.nodeName)) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const prev = this.work.get(uid) ?? Promise.resolve();
    const next = prev
      .then(() => this.reconcile(uid, pod, deleted))
      .catch((e: Error) => this.log.error(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${e.stack ?? e.message}`));
    this.work.set(uid, next);
    void next.then(() => {
      if (this.work.get(uid) === next) this.work.delete(uid);
    });
  }

  private async reconcile(uid: string, pod: V1Pod, deleted: boolean): Promise<void> {
    const existing = this.pods.get(uid);
    const ref = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (deleted || pod.metadata?.deletionTimestamp) {
      if (existing) {
        this.log.info(`stopping pod ${ref}`);
        this.pods.delete(uid);
        // A force-deleted pod (gone from the API at once) gets a short grace, as its owner is not waiting.
        await existing.stop(deleted ? Math.min(2, pod.spec?.terminationGracePeriodSeconds ?? 30) : (pod.metadata?.deletionGracePeriodSeconds ?? undefined));
      }
      if (!deleted) {
        // As a kubelet does once the containers are gone: remove the pod for good.
        await this.core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid } } }).catch((e: { code?: number; message?: string }) => {
            if (e.code !== 404) this.log.warn(`removing pod ${ref}: ${e.message}`);
          });
      }
      return;
    }
    if (existing) {
      existing.update(pod);
      return;
    }
    const hostNetwork = pod.spec?.hostNetwork === true;
    if (!hostNetwork && !pod.status?.podIP) return; // kwok has not given it an address yet
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    this.log.info(`starting pod ${ref} (${pod.status?.podIP ?? 'host network'})`);
    const instance = new PodInstance(pod, { kc: this.kc, log: this.log, podsDir: this.paths.podsDir, images: sampleImages(this.paths) });
    this.pods.set(uid, instance);
    try {
      await instance.start();
    } catch (e) {
      this.log.error(`pod ${ref} failed to start: ${(e as Error).stack ?? String(e)}`);
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.informer.stop().catch(() => undefined);
    await Promise.allSettled([...this.work.values()]);
    await Promise.allSettled([...this.pods.values()].map((p) => p.stop()));
    this.pods.clear();
    await this.proxy.dispose();
    await cleanupClusterNetwork(this.log);
  }
}
