import * as vscode from 'vscode';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import { DevlaneError, toDevlaneError } from '../core/errors';
import { httpCode } from '../core/kube/probe';
import { cloneLabels } from '../core/clones/labels';
import { clonePodSource } from '../core/clones/watch';
import { ResilientWatch } from '../core/observe/resilientWatch';
import { ClusterWatch, type NamespaceContents } from '../core/kube/clusterWatch';
import type { ResourceRef } from '../core/kube/resourceRef';
import { views, type ContextKeys } from '../ids';
import type { ErrorReason } from '../core/errors';

/** Whether a workload's matchLabels select the pod (an empty selector selects nothing here). */
function selects(selector: Record<string, string>, pod: V1Pod): boolean {
  const wanted = Object.entries(selector);
  return wanted.length > 0 && wanted.every(([k, v]) => pod.metadata?.labels?.[k] === v);
}

const welcomeReasons: ReadonlySet<ErrorReason> = new Set(['kubeconfig-missing', 'kubeconfig-empty', 'kubeconfig-invalid', 'context-missing', 'cluster-unreachable', 'cluster-unauthorized']);

/** A section another feature adds at the top of the tree (e.g. "My Clones"). */
export interface ClusterTreeSection {
  readonly id: string;
  readonly label: string;
  readonly icon: string;
  children(): Promise<vscode.TreeItem[]>;
}

function refOfItem(item: vscode.TreeItem): ResourceRef | undefined {
  return (item as vscode.TreeItem & { ref?: ResourceRef }).ref;
}

/** Short header text per problem; the welcome content below it explains. */
const problemLabels: Partial<Record<ErrorReason, string>> = {
  'kubeconfig-missing': 'no kubeconfig',
  'kubeconfig-empty': 'empty kubeconfig',
  'kubeconfig-invalid': 'unreadable kubeconfig',
  'context-missing': 'no context',
  'cluster-unreachable': 'unreachable',
  'cluster-unauthorized': 'not logged in',
};

type Node =
  | { readonly type: 'section'; readonly section: ClusterTreeSection }
  // The ref travels on the node itself: a command run from the item's menu receives the node.
  | { readonly type: 'item'; readonly item: vscode.TreeItem; readonly ref?: ResourceRef }
  | { readonly type: 'namespace'; readonly name: string }
  | { readonly type: 'workload'; readonly ref: ResourceRef; readonly selector: Record<string, string>; readonly replicas: string }
  | { readonly type: 'pod'; readonly ref: ResourceRef; readonly pod: V1Pod }
  | { readonly type: 'message'; readonly text: string; readonly icon: string };

/**
 * *Cluster & Clones*: sections contributed by features, then namespaces → workloads → pods.
 * Empty while there is no usable cluster, so the view's welcome content (chosen by the
 * devlane.clusterState context key) explains what to do; the view message says what went wrong.
 */
export class ClusterTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sections: ClusterTreeSection[] = [];
  private readonly view: vscode.TreeView<Node>;
  private cloneWatch: ResilientWatch<V1Pod> | undefined;
  private clusterWatch: ClusterWatch | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  // Nodes VS Code already holds, kept so a change can refresh just them: it knows elements by identity.
  private readonly sectionNodes = new Map<ClusterTreeSection, Node>();
  private readonly namespaceNodes = new Map<string, Node>();
  private readonly changedNamespaces = new Set<string>();
  private namespaceListChanged = false;

  constructor(private readonly ctx: DevlaneContext) {
    this.view = ctx.own(vscode.window.createTreeView(views.cluster, { treeDataProvider: this, showCollapseAll: true }));
    ctx.own(this.changed);
    ctx.own({
      dispose: () => {
        clearTimeout(this.refreshTimer);
        this.cloneWatch?.dispose();
        this.cloneWatch = undefined;
        this.clusterWatch?.dispose();
        this.clusterWatch = undefined;
      },
    });
    // A closed namespace is not watched: only what the user can see costs a watch.
    ctx.own(
      this.view.onDidCollapseElement((e) => {
        if (e.element.type === 'namespace') this.clusterWatch?.unwatchNamespace(e.element.name);
      }),
    );
    ctx.own({ dispose: ctx.kube.onDidChange(() => this.onKube()).dispose });
    // Nothing is loaded until the view is first shown: activation stays cheap.
    ctx.own(
      this.view.onDidChangeVisibility((e) => {
        if (e.visible && ctx.kube.status.state === 'loading') void ctx.kube.ready();
      }),
    );
    if (this.view.visible) void ctx.kube.ready();
  }

  addSection(section: ClusterTreeSection): vscode.Disposable {
    this.sections.push(section);
    this.refresh();
    return { dispose: () => {
      this.sections.splice(this.sections.indexOf(section), 1);
      this.refresh();
    } };
  }

  refresh(): void {
    this.sectionNodes.clear();
    this.namespaceNodes.clear();
    this.changed.fire(undefined);
  }

  /**
   * Pod events come in bursts (created, scheduled, started): one refresh for each burst, of the
   * sections and the namespaces the changed pods are in, not of the whole tree.
   */
  private refreshSoon(namespace: string | undefined, namespaceList = false): void {
    if (namespace) this.changedNamespaces.add(namespace);
    this.namespaceListChanged ||= namespaceList;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      const namespaces = [...this.changedNamespaces];
      this.changedNamespaces.clear();
      const whole = this.namespaceListChanged;
      this.namespaceListChanged = false;
      // The namespaces are the tree's root level: a new or deleted one means refreshing the root.
      if (whole || this.sectionNodes.size === 0) return this.refresh();
      for (const n of this.sectionNodes.values()) this.changed.fire(n);
      for (const ns of namespaces) {
        const n = this.namespaceNodes.get(ns);
        if (n) this.changed.fire(n);
      }
    }, 250);
  }

  /** The namespace list and every open namespace update as the cluster changes (core/kube/clusterWatch.ts). */
  private watchCluster(): void {
    this.clusterWatch?.dispose();
    this.clusterWatch = undefined;
    const s = this.ctx.kube.status;
    if (s.state !== 'connected') return;
    const w = new ClusterWatch(s.config.kc, this.ctx.logger);
    w.onDidChange((c) => (c.scope === 'namespaces' ? this.refreshSoon(undefined, true) : this.refreshSoon(c.namespace)));
    w.watchNamespaces();
    this.clusterWatch = w;
  }

  /**
   * Watches clone pods so "My Clones" shows phases, expiry changes and deletions as they happen,
   * cluster-wide when allowed, else in the context's namespace.
   */
  private watchClones(): void {
    this.cloneWatch?.dispose();
    this.cloneWatch = undefined;
    const s = this.ctx.kube.status;
    if (s.state !== 'connected') return;
    const start = (namespace?: string) => {
      const w = new ResilientWatch<V1Pod>(clonePodSource(s.config.kc, namespace), {
        describe: `clone pods${namespace ? ` in ${namespace}` : ''}`,
        log: this.ctx.logger,
        fatal: (e) => (httpCode(e) === 401 || httpCode(e) === 403 ? new DevlaneError(httpCode(e) === 403 ? 'rbac-forbidden' : 'cluster-unauthorized', `Cannot watch clone pods${namespace ? ` in ${namespace}` : ''}: use Refresh to update the tree.`) : undefined),
      });
      w.onDidChange((c) => {
        if (c.type !== 'sync') this.refreshSoon(c.item.metadata?.namespace);
      });
      w.onDidChangeState((st) => {
        if (st.state !== 'failed' || this.cloneWatch !== w) return;
        if (!namespace) start(s.config.namespace);
        else this.ctx.log.warn(st.error.message);
      });
      this.cloneWatch?.dispose();
      this.cloneWatch = w;
      w.start();
    };
    start();
  }

  private onKube(): void {
    const s = this.ctx.kube.status;
    this.ctx.setContext('devlane.clusterState', s.state === 'connected' ? 'connected' : s.state === 'loading' ? 'loading' : s.error.reason.startsWith('kubeconfig') || s.error.reason === 'context-missing' ? 'none' : 'error');
    this.ctx.setContext('devlane.clusterProblem', s.state !== 'error' ? 'none' : welcomeReasons.has(s.error.reason) ? (s.error.reason as ContextKeys['devlane.clusterProblem']) : 'other');
    // A view message would hide the welcome content, which carries the fixes: the header and its
    // tooltip-free description name the context, the log has the full cause.
    this.view.description = s.state === 'connected' ? `${s.config.context} · ${s.version}` : s.state === 'error' ? problemLabels[s.error.reason] ?? 'not connected' : undefined;
    this.watchClones();
    this.watchCluster();
    this.refresh();
  }

  getTreeItem(n: Node): vscode.TreeItem {
    switch (n.type) {
      case 'section': {
        const t = new vscode.TreeItem(n.section.label, vscode.TreeItemCollapsibleState.Expanded);
        t.id = `section:${n.section.id}`;
        t.iconPath = new vscode.ThemeIcon(n.section.icon);
        t.contextValue = `devlane.section.${n.section.id}`;
        return t;
      }
      case 'item':
        return n.item;
      case 'namespace': {
        const t = new vscode.TreeItem(n.name, vscode.TreeItemCollapsibleState.Collapsed);
        t.id = `ns:${n.name}`;
        t.iconPath = new vscode.ThemeIcon('symbol-namespace');
        t.contextValue = 'devlane.namespace';
        return t;
      }
      case 'workload': {
        const t = new vscode.TreeItem(n.ref.name, vscode.TreeItemCollapsibleState.Collapsed);
        t.id = `wl:${n.ref.kind}:${n.ref.namespace}/${n.ref.name}`;
        t.description = `${n.ref.kind} · ${n.replicas}`;
        t.iconPath = new vscode.ThemeIcon(n.ref.kind === 'StatefulSet' ? 'database' : 'layers');
        t.contextValue = 'devlane.workload';
        (t as vscode.TreeItem & { ref: ResourceRef }).ref = n.ref;
        return t;
      }
      case 'pod': {
        const t = new vscode.TreeItem(n.ref.name, vscode.TreeItemCollapsibleState.None);
        t.id = `pod:${n.ref.namespace}/${n.ref.name}`;
        const phase = n.pod.status?.phase ?? 'Unknown';
        const waiting = n.pod.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting?.reason;
        t.description = [waiting ?? phase, n.pod.spec?.nodeName].filter(Boolean).join(' · ');
        t.tooltip = `${n.ref.namespace}/${n.ref.name}\nphase: ${phase}${waiting ? `\nwaiting: ${waiting}` : ''}\nnode: ${n.pod.spec?.nodeName ?? '(not scheduled)'}\nIP: ${n.pod.status?.podIP ?? '-'}`;
        t.iconPath = new vscode.ThemeIcon(phase === 'Running' && !waiting ? 'vm-running' : phase === 'Pending' ? 'vm-outline' : 'warning');
        // A clone listed in its namespace gets the clone actions, not "Clone Pod…" (a clone of a clone).
        t.contextValue = n.ref.kind === 'Clone' ? 'devlane.clone' : 'devlane.pod';
        (t as vscode.TreeItem & { ref: ResourceRef }).ref = n.ref;
        return t;
      }
      case 'message': {
        const t = new vscode.TreeItem(n.text, vscode.TreeItemCollapsibleState.None);
        t.iconPath = new vscode.ThemeIcon(n.icon);
        return t;
      }
    }
  }

  async getChildren(n?: Node): Promise<Node[]> {
    const s = this.ctx.kube.status;
    if (s.state !== 'connected') return [];
    try {
      if (!n) {
        const sections = this.sections.map((section) => this.sectionNodes.get(section) ?? this.remember(this.sectionNodes, section, { type: 'section', section }));
        const namespaces = (await this.namespaces(s.config.namespace)).map((ns) => (ns.type === 'namespace' ? (this.namespaceNodes.get(ns.name) ?? this.remember(this.namespaceNodes, ns.name, ns)) : ns));
        return [...sections, ...namespaces];
      }
      if (n.type === 'section') return (await n.section.children()).map((item) => ({ type: 'item' as const, item, ...(refOfItem(item) ? { ref: refOfItem(item)! } : {}) }));
      if (n.type === 'namespace') {
        // Asked for its children means open (or restored open): from now on it updates by itself.
        this.clusterWatch?.watchNamespace(n.name);
        return await this.workloadsAndPods(n.name);
      }
      if (n.type === 'workload') return await this.pods(n.ref.namespace, n.selector);
      return [];
    } catch (e) {
      const err = toDevlaneError(e);
      return [{ type: 'message', text: httpCode(e) === 403 ? `Forbidden: ${err.message}` : err.message, icon: 'error' }];
    }
  }

  private remember<K>(map: Map<K, Node>, key: K, node: Node): Node {
    map.set(key, node);
    return node;
  }

  private core() {
    const s = this.ctx.kube.status;
    if (s.state !== 'connected') throw new Error('not connected');
    return { core: s.config.kc.makeApiClient(CoreV1Api), apps: s.config.kc.makeApiClient(AppsV1Api) };
  }

  private async namespaces(fallback: string): Promise<Node[]> {
    try {
      // While the namespace list is watched, its watch holds the list: no request per refresh.
      const names = (await this.clusterWatch?.namespaces()) ?? (await this.core().core.listNamespace()).items.map((ns) => ns.metadata?.name ?? '');
      return names.map((name) => ({ type: 'namespace' as const, name })).filter((n) => n.name);
    } catch (e) {
      // Namespace-scoped credentials cannot list namespaces: show the context's own namespace.
      if (httpCode(e) === 403) return [{ type: 'namespace', name: fallback }];
      throw e;
    }
  }

  /** An open namespace's watches hold what it shows; a namespace that is not watched is listed. */
  private async contents(namespace: string): Promise<NamespaceContents> {
    const held = await this.clusterWatch?.contents(namespace);
    if (held) return held;
    const { core, apps } = this.core();
    const [deployments, statefulSets, pods] = await Promise.all([apps.listNamespacedDeployment({ namespace }), apps.listNamespacedStatefulSet({ namespace }), core.listNamespacedPod({ namespace })]);
    return { deployments: deployments.items, statefulSets: statefulSets.items, pods: pods.items };
  }

  private async workloadsAndPods(namespace: string): Promise<Node[]> {
    const { deployments, statefulSets, pods } = await this.contents(namespace);
    const workloads: Node[] = [
      ...deployments.map((d) => ({ type: 'workload' as const, ref: { kind: 'Deployment' as const, namespace, name: d.metadata?.name ?? '' }, selector: d.spec?.selector?.matchLabels ?? {}, replicas: `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0} ready` })),
      ...statefulSets.map((d) => ({ type: 'workload' as const, ref: { kind: 'StatefulSet' as const, namespace, name: d.metadata?.name ?? '' }, selector: d.spec?.selector?.matchLabels ?? {}, replicas: `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0} ready` })),
    ];
    // Pods no listed workload owns (standalone pods, clones, jobs) are listed directly.
    const owned = (p: V1Pod) => workloads.some((w) => w.type === 'workload' && selects(w.selector, p));
    const loose = pods.filter((p) => !owned(p)).map((pod) => ({ type: 'pod' as const, ref: { kind: pod.metadata?.labels?.[cloneLabels.clone] === 'true' ? ('Clone' as const) : ('Pod' as const), namespace, name: pod.metadata?.name ?? '' }, pod }));
    return [...workloads, ...loose];
  }

  private async pods(namespace: string, selector: Record<string, string>): Promise<Node[]> {
    const pods = (await this.contents(namespace)).pods.filter((p) => selects(selector, p));
    return pods.map((pod) => ({ type: 'pod' as const, ref: { kind: 'Pod' as const, namespace, name: pod.metadata?.name ?? '' }, pod }));
  }
}
