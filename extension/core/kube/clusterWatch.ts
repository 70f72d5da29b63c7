/**
 * Keeps the *Cluster & Clones* tree current without Refresh: the namespace list, and for each
 * namespace the user has open, its Deployments, StatefulSets and pods. Only open namespaces are
 * watched, so a cluster with hundreds of namespaces costs one watch until the user looks inside.
 * Bursts (a rollout touches a pod several times a second) are the view's to coalesce.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';
import { collectionSource, namespacedPath, ResilientWatch, type KubeObject, type ListWatchSource } from '../observe/resilientWatch';
import { httpCode } from './probe';

export type ClusterChange = { readonly scope: 'namespaces' } | { readonly scope: 'namespace'; readonly namespace: string };

/** Retrying cannot fix these: the user lacks the right (the tree then updates on Refresh only). */
const final = (what: string) => (e: unknown) => {
  const code = httpCode(e);
  if (code === 401 || code === 403 || code === 404) return new DevlaneError(code === 403 ? 'rbac-forbidden' : code === 401 ? 'cluster-unauthorized' : 'not-found', `Cannot watch ${what} (HTTP ${code}): the tree updates on Refresh only.`);
  return undefined;
};

export class ClusterWatch implements Disposable {
  private readonly changes = new Emitter<ClusterChange>();
  readonly onDidChange = this.changes.event;
  private namespacesWatch: ResilientWatch<KubeObject> | undefined;
  private readonly open = new Map<string, readonly ResilientWatch<KubeObject>[]>();
  private disposed = false;

  constructor(private readonly kc: KubeConfig, private readonly log: Logger) {}

  /** Watches the namespace list; a namespace that goes away stops being watched too. */
  watchNamespaces(): void {
    if (this.disposed || this.namespacesWatch) return;
    const core = this.kc.makeApiClient(CoreV1Api);
    const w = this.start('namespaces', collectionSource(this.kc, '/api/v1/namespaces', (q) => core.listNamespace(q)));
    w.onDidChange((c) => {
      if (c.type === 'sync') return;
      if (c.type === 'delete' && c.item.metadata?.name) this.unwatchNamespace(c.item.metadata.name);
      this.changes.fire({ scope: 'namespaces' });
    });
    this.namespacesWatch = w;
  }

  /** Starts watching what the tree shows inside `namespace`; a second call is a no-op. */
  watchNamespace(namespace: string): void {
    if (this.disposed || this.open.has(namespace)) return;
    const core = this.kc.makeApiClient(CoreV1Api);
    const apps = this.kc.makeApiClient(AppsV1Api);
    const sources: readonly [string, ListWatchSource<KubeObject>][] = [
      [`pods in ${namespace}`, collectionSource(this.kc, namespacedPath('/api/v1', namespace, 'pods'), (q) => core.listNamespacedPod({ namespace, ...q }))],
      [`Deployments in ${namespace}`, collectionSource(this.kc, namespacedPath('/apis/apps/v1', namespace, 'deployments'), (q) => apps.listNamespacedDeployment({ namespace, ...q }))],
      [`StatefulSets in ${namespace}`, collectionSource(this.kc, namespacedPath('/apis/apps/v1', namespace, 'statefulsets'), (q) => apps.listNamespacedStatefulSet({ namespace, ...q }))],
    ];
    const watches = sources.map(([what, source]) => {
      const w = this.start(what, source);
      // The first list only repeats what the tree has just loaded.
      w.onDidChange((c) => {
        if (c.type !== 'sync') this.changes.fire({ scope: 'namespace', namespace });
      });
      return w;
    });
    this.open.set(namespace, watches);
  }

  unwatchNamespace(namespace: string): void {
    for (const w of this.open.get(namespace) ?? []) w.dispose();
    this.open.delete(namespace);
  }

  /** Namespaces watched now (for tests and the log). */
  get watchedNamespaces(): readonly string[] {
    return [...this.open.keys()];
  }

  private start(what: string, source: ListWatchSource<KubeObject>): ResilientWatch<KubeObject> {
    const w = new ResilientWatch<KubeObject>(source, { describe: what, log: this.log, fatal: final(what) });
    w.onDidChangeState((s) => {
      if (s.state === 'failed') this.log.info(s.error.message);
    });
    return w.start();
  }

  dispose(): void {
    this.disposed = true;
    this.namespacesWatch?.dispose();
    this.namespacesWatch = undefined;
    for (const ns of [...this.open.keys()]) this.unwatchNamespace(ns);
    this.changes.dispose();
  }
}
