/**
 * Keeps the *Cluster & Clones* tree current without Refresh: the namespace list, and for each
 * namespace the user has open, its Deployments, StatefulSets and pods. Only open namespaces are
 * watched, so a cluster with hundreds of namespaces costs one watch until the user looks inside.
 * What an open namespace's watches hold is what the tree shows: a refresh reads it instead of
 * listing the three collections again. Bursts (a rollout touches a pod several times a second) are
 * the view's to coalesce.
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import type { DevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';
import { collectionSource, namespacedPath, ResilientWatch, type KubeObject, type ListWatchSource } from '../observe/resilientWatch';
import { classifyApiError, forbiddenError } from './apiErrors';
import { httpCode } from './probe';

export type ClusterChange = { readonly scope: 'namespaces' } | { readonly scope: 'namespace'; readonly namespace: string };

export interface NamespaceContents {
  readonly deployments: readonly V1Deployment[];
  readonly statefulSets: readonly V1StatefulSet[];
  readonly pods: readonly V1Pod[];
}

/** Retrying cannot fix a refusal (401/403) or a missing API (404): the tree then lists on Refresh. */
function final(resource: string, group: string, namespace?: string): (e: unknown) => DevlaneError | undefined {
  return (e) => {
    const code = httpCode(e);
    if (code === 403) return forbiddenError({ verb: 'list and watch', resource: group ? `${resource}.${group}` : resource, ...(namespace ? { namespace } : {}) }, e);
    if (code === 401 || code === 404) return classifyApiError(e, { verb: 'watch', resource, group, ...(namespace ? { namespace } : {}) });
    return undefined;
  };
}

/** One watched collection and what it holds now, by uid. */
class Collection<T extends KubeObject> implements Disposable {
  readonly items = new Map<string, T>();
  /** Settles with the first outcome: watching (the items are complete) or not (retrying, failed). */
  readonly firstOutcome: Promise<void>;

  constructor(readonly watch: ResilientWatch<T>, log: Logger, onChange: () => void) {
    const key = (o: T) => o.metadata?.uid ?? o.metadata?.name ?? '';
    watch.onDidChange((c) => {
      if (c.type === 'sync') {
        this.items.clear();
        for (const o of c.items) this.items.set(key(o), o);
        return;
      }
      if (c.type === 'upsert') this.items.set(key(c.item), c.item);
      else this.items.delete(key(c.item));
      onChange();
    });
    this.firstOutcome = new Promise((resolve) => {
      watch.onDidChangeState((s) => {
        if (s.state === 'failed') log.info(`${s.error.message} Until then the tree updates on Refresh only.`);
        if (s.state !== 'listing') resolve();
      });
    });
    watch.start();
  }

  /**
   * By name, as the API server lists them; complete only while the watch runs: after a failure or
   * during a re-list the view lists itself.
   */
  get current(): readonly T[] | undefined {
    if (this.watch.state.state !== 'watching') return undefined;
    const name = (o: T) => o.metadata?.name ?? '';
    return [...this.items.values()].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  }

  dispose(): void {
    this.watch.dispose();
  }
}

interface OpenNamespace {
  readonly pods: Collection<V1Pod>;
  readonly deployments: Collection<V1Deployment>;
  readonly statefulSets: Collection<V1StatefulSet>;
}

export class ClusterWatch implements Disposable {
  private readonly changes = new Emitter<ClusterChange>();
  readonly onDidChange = this.changes.event;
  private namespacesWatch: Collection<KubeObject> | undefined;
  private readonly open = new Map<string, OpenNamespace>();
  private disposed = false;

  constructor(private readonly kc: KubeConfig, private readonly log: Logger) {}

  /** Watches the namespace list; a namespace that goes away stops being watched too. */
  watchNamespaces(): void {
    if (this.disposed || this.namespacesWatch) return;
    const core = this.kc.makeApiClient(CoreV1Api);
    const w = this.watch(collectionSource(this.kc, '/api/v1/namespaces', (q) => core.listNamespace(q)), 'namespaces', '', undefined, () => {
      const names = new Set([...w.items.values()].map((n) => n.metadata?.name));
      for (const ns of [...this.open.keys()]) if (!names.has(ns)) this.unwatchNamespace(ns);
      this.changes.fire({ scope: 'namespaces' });
    });
    this.namespacesWatch = w;
  }

  /** The namespace names, when the namespace list is watched and its watch runs; else `undefined`. */
  async namespaces(): Promise<string[] | undefined> {
    const w = this.namespacesWatch;
    if (!w) return undefined;
    await w.firstOutcome;
    return w.current?.map((n) => n.metadata?.name ?? '');
  }

  /** Starts watching what the tree shows inside `namespace`; a second call is a no-op. */
  watchNamespace(namespace: string): void {
    if (this.disposed || this.open.has(namespace)) return;
    const core = this.kc.makeApiClient(CoreV1Api);
    const apps = this.kc.makeApiClient(AppsV1Api);
    const changed = () => this.changes.fire({ scope: 'namespace', namespace });
    this.open.set(namespace, {
      pods: this.watch(collectionSource(this.kc, namespacedPath('/api/v1', namespace, 'pods'), (q) => core.listNamespacedPod({ namespace, ...q })), 'pods', '', namespace, changed),
      deployments: this.watch(collectionSource(this.kc, namespacedPath('/apis/apps/v1', namespace, 'deployments'), (q) => apps.listNamespacedDeployment({ namespace, ...q })), 'deployments', 'apps', namespace, changed),
      statefulSets: this.watch(collectionSource(this.kc, namespacedPath('/apis/apps/v1', namespace, 'statefulsets'), (q) => apps.listNamespacedStatefulSet({ namespace, ...q })), 'statefulsets', 'apps', namespace, changed),
    });
  }

  /**
   * What an open namespace holds now, once its watches have started; `undefined` when it is not
   * open or a watch is not running (refused, retrying, re-listing): then the caller lists itself.
   */
  async contents(namespace: string): Promise<NamespaceContents | undefined> {
    const o = this.open.get(namespace);
    if (!o) return undefined;
    await Promise.all([o.pods.firstOutcome, o.deployments.firstOutcome, o.statefulSets.firstOutcome]);
    const [pods, deployments, statefulSets] = [o.pods.current, o.deployments.current, o.statefulSets.current];
    return pods && deployments && statefulSets && this.open.get(namespace) === o ? { pods, deployments, statefulSets } : undefined;
  }

  unwatchNamespace(namespace: string): void {
    const o = this.open.get(namespace);
    if (!o) return;
    this.open.delete(namespace);
    for (const c of [o.pods, o.deployments, o.statefulSets]) c.dispose();
  }

  /** Namespaces watched now. */
  get watchedNamespaces(): readonly string[] {
    return [...this.open.keys()];
  }

  private watch<T extends KubeObject>(source: ListWatchSource<T>, resource: string, group: string, namespace: string | undefined, onChange: () => void): Collection<T> {
    const describe = `${resource}${namespace ? ` in ${namespace}` : ''}`;
    return new Collection(new ResilientWatch<T>(source, { describe, log: this.log, fatal: final(resource, group, namespace) }), this.log, onChange);
  }

  dispose(): void {
    this.disposed = true;
    this.namespacesWatch?.dispose();
    this.namespacesWatch = undefined;
    for (const ns of [...this.open.keys()]) this.unwatchNamespace(ns);
    this.changes.dispose();
  }
}
