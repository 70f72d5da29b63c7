/**
 * The live data behind an Events view: a resilient watch of the events of a pod, a workload or a
 * namespace, merged into a timeline, with explanations worked out from the pod, its nodes and
 * claims. When the pod is deleted the feed says so and keeps the timeline.
 */
import { CoreV1Api, type CoreV1Event, type KubeConfig, type V1Node, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';
import { DevlaneError, toDevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';
import type { ResourceRef } from '../kube/resourceRef';
import { explainEvent, explainPodStatus, type Explanation } from './explain';
import { classifyApiError } from './kubeErrors';
import { collectionSource, namespacedPath, ResilientWatch, type ListWatchSource } from './resilientWatch';
import { httpCode } from '../kube/probe';
import { EventTimeline, type TimelineEntry } from './timeline';

export interface EventsSnapshot {
  readonly target: ResourceRef;
  readonly entries: readonly TimelineEntry[];
  /** Why containers are not running now (from the pod's status). */
  readonly podProblems: readonly Explanation[];
  readonly state: 'loading' | 'live' | 'reconnecting' | 'failed' | 'gone';
  readonly error?: { readonly reason: string; readonly message: string };
}

/**
 * The events of a namespace, narrowed on the server by field selector when the target is one object.
 * `watchTimeoutSeconds` asks the server to end each watch that early.
 */
export function eventSource(kc: KubeConfig, namespace: string, fieldSelector?: string, watchTimeoutSeconds?: number): ListWatchSource<CoreV1Event> {
  const api = kc.makeApiClient(CoreV1Api);
  return collectionSource(kc, namespacedPath('/api/v1', namespace, 'events'), (q) => api.listNamespacedEvent({ namespace, ...q }), {
    ...(fieldSelector ? { fieldSelector } : {}),
    ...(watchTimeoutSeconds ? { timeoutSeconds: watchTimeoutSeconds } : {}),
  });
}

/** Which events belong to a target (workloads: the object, its ReplicaSets/pods by name prefix). */
export function belongsTo(target: ResourceRef, e: CoreV1Event): boolean {
  const name = e.involvedObject?.name ?? '';
  switch (target.kind) {
    case 'Namespace':
      return true;
    case 'Pod':
    case 'Clone':
      return name === target.name && (e.involvedObject?.kind ?? 'Pod') === 'Pod';
    default:
      return name === target.name || name.startsWith(`${target.name}-`);
  }
}

export class EventsFeed implements Disposable {
  private readonly timeline = new EventTimeline();
  private readonly updates = new Emitter<EventsSnapshot>();
  readonly onDidUpdate = this.updates.event;
  private readonly watch: ResilientWatch<CoreV1Event>;
  private podProblems: Explanation[] = [];
  private state: EventsSnapshot['state'] = 'loading';
  private error?: DevlaneError;
  private disposed = false;
  private refreshing?: Promise<void>;
  private refreshAgain = false;

  constructor(private readonly kc: KubeConfig, readonly target: ResourceRef, private readonly log: Logger) {
    const isPod = target.kind === 'Pod' || target.kind === 'Clone';
    const selector = isPod ? `involvedObject.kind=Pod,involvedObject.name=${target.name}` : undefined;
    this.watch = new ResilientWatch(eventSource(kc, target.namespace, selector), {
      describe: `events of ${target.kind} ${target.namespace}/${target.name}`,
      log,
      fatal: (e) => {
        const code = httpCode(e);
        return code === 403 || code === 401 ? classifyApiError(e, { verb: 'list and watch', resource: 'events', namespace: target.namespace }) : undefined;
      },
    });
    this.watch.onDidChange((c) => {
      if (c.type === 'sync') for (const e of c.items) this.add(e);
      else if (c.type === 'upsert') this.add(c.item);
      // Deleted events (expired after the API server's TTL) stay in the timeline.
      this.scheduleRefresh();
      this.emit();
    });
    this.watch.onDidChangeState((s) => {
      if (this.state === 'gone') return;
      if (s.state === 'watching') this.state = 'live';
      else if (s.state === 'retrying') this.state = 'reconnecting';
      else if (s.state === 'failed') {
        this.state = 'failed';
        this.error = s.error;
      }
      this.emit();
    });
  }

  start(): this {
    this.watch.start();
    return this;
  }

  get watchStats(): ResilientWatch<CoreV1Event>['stats'] {
    return this.watch.stats;
  }

  snapshot(): EventsSnapshot {
    return {
      target: this.target,
      entries: this.timeline.entries(),
      podProblems: this.podProblems,
      state: this.state,
      ...(this.error ? { error: { reason: this.error.reason, message: this.error.message } } : {}),
    };
  }

  private add(e: CoreV1Event): void {
    if (belongsTo(this.target, e)) this.timeline.upsert(e);
  }

  private emit(): void {
    if (!this.disposed) this.updates.fire(this.snapshot());
  }

  /** Re-reads the pod (and for scheduling failures its nodes and claims), one refresh at a time. */
  private scheduleRefresh(): void {
    if (this.target.kind !== 'Pod' && this.target.kind !== 'Clone') {
      this.explainWithoutPod();
      return;
    }
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.refresh()
      .catch((e) => this.log.warn(`explaining events of ${this.target.name}: ${toDevlaneError(e).message}`))
      .finally(() => {
        this.refreshing = undefined;
        if (this.refreshAgain && !this.disposed) {
          this.refreshAgain = false;
          this.scheduleRefresh();
        }
      });
  }

  /** Refreshes explanations now and resolves when done (views call it after a reload). */
  async refresh(): Promise<void> {
    if (this.disposed) return;
    const api = this.kc.makeApiClient(CoreV1Api);
    const ns = this.target.namespace;
    let pod: V1Pod;
    try {
      pod = await api.readNamespacedPod({ name: this.target.name, namespace: ns });
    } catch (e) {
      const code = httpCode(e);
      if (code === 404) {
        this.state = 'gone';
        this.error = new DevlaneError('not-found', `Pod "${this.target.name}" no longer exists in namespace "${ns}". The events seen so far are kept.`);
        this.emit();
        return;
      }
      throw classifyApiError(e, { verb: 'get', resource: 'pods', namespace: ns, name: this.target.name }) ?? e;
    }
    this.podProblems = explainPodStatus(pod);
    const entries = this.timeline.entries();
    const scheduling = entries.filter((e) => e.reason === 'FailedScheduling');
    let nodes: V1Node[] = [];
    const podsByNode = new Map<string, V1Pod[]>();
    const claims = new Map<string, V1PersistentVolumeClaim>();
    if (scheduling.length > 0) {
      try {
        nodes = (await api.listNode()).items;
      } catch (e) {
        this.log.warn(`listing nodes to explain scheduling: ${toDevlaneError(e).message}`);
      }
      try {
        for (const p of (await api.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })).items) {
          const n = p.spec?.nodeName;
          if (n) podsByNode.set(n, [...(podsByNode.get(n) ?? []), p]);
        }
      } catch (e) {
        this.log.debug(`listing pods per node: ${toDevlaneError(e).message}`);
      }
      for (const v of pod.spec?.volumes ?? []) {
        const claim = v.persistentVolumeClaim?.claimName;
        if (!claim) continue;
        try {
          claims.set(claim, await api.readNamespacedPersistentVolumeClaim({ name: claim, namespace: ns }));
        } catch {
          // absent: explained as "does not exist"
        }
      }
    }
    for (const entry of entries) {
      const ev = { reason: entry.reason, message: entry.message, type: entry.type, involvedObject: {}, metadata: {} } as CoreV1Event;
      const x = explainEvent(ev, { pod, nodes, podsByNode, claims });
      if (x) this.timeline.explain(entry.uid, x);
    }
    this.emit();
  }

  private explainWithoutPod(): void {
    for (const entry of this.timeline.entries()) {
      if (entry.explanation) continue;
      const x = explainEvent({ reason: entry.reason, message: entry.message, involvedObject: {}, metadata: {} } as CoreV1Event);
      if (x) this.timeline.explain(entry.uid, x);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.watch.dispose();
    this.updates.dispose();
  }
}
