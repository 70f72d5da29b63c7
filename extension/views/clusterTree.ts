import * as vscode from 'vscode';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import { toDevlaneError } from '../core/errors';
import { httpCode } from '../core/kube/probe';
import type { ResourceRef } from '../core/kube/resourceRef';
import { views, type ContextKeys } from '../ids';
import type { ErrorReason } from '../core/errors';

const welcomeReasons: ReadonlySet<ErrorReason> = new Set(['kubeconfig-missing', 'kubeconfig-empty', 'kubeconfig-invalid', 'context-missing', 'cluster-unreachable', 'cluster-unauthorized']);

/** A section another feature adds at the top of the tree (e.g. "My Clones"). */
export interface ClusterTreeSection {
  readonly id: string;
  readonly label: string;
  readonly icon: string;
  children(): Promise<vscode.TreeItem[]>;
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
  | { readonly type: 'item'; readonly item: vscode.TreeItem }
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

  constructor(private readonly ctx: DevlaneContext) {
    this.view = ctx.own(vscode.window.createTreeView(views.cluster, { treeDataProvider: this, showCollapseAll: true }));
    ctx.own(this.changed);
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
    this.changed.fire(undefined);
  }

  private onKube(): void {
    const s = this.ctx.kube.status;
    this.ctx.setContext('devlane.clusterState', s.state === 'connected' ? 'connected' : s.state === 'loading' ? 'loading' : s.error.reason.startsWith('kubeconfig') || s.error.reason === 'context-missing' ? 'none' : 'error');
    this.ctx.setContext('devlane.clusterProblem', s.state !== 'error' ? 'none' : welcomeReasons.has(s.error.reason) ? (s.error.reason as ContextKeys['devlane.clusterProblem']) : 'other');
    // A view message would hide the welcome content, which carries the fixes: the header and its
    // tooltip-free description name the context, the log has the full cause.
    this.view.description = s.state === 'connected' ? `${s.config.context} · ${s.version}` : s.state === 'error' ? problemLabels[s.error.reason] ?? 'not connected' : undefined;
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
        t.contextValue = 'devlane.pod';
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
      if (!n) return [...this.sections.map((section) => ({ type: 'section' as const, section })), ...(await this.namespaces(s.config.namespace))];
      if (n.type === 'section') return (await n.section.children()).map((item) => ({ type: 'item' as const, item }));
      if (n.type === 'namespace') return await this.workloadsAndPods(n.name);
      if (n.type === 'workload') return await this.pods(n.ref.namespace, n.selector);
      return [];
    } catch (e) {
      const err = toDevlaneError(e);
      return [{ type: 'message', text: httpCode(e) === 403 ? `Forbidden: ${err.message}` : err.message, icon: 'error' }];
    }
  }

  private core() {
    const s = this.ctx.kube.status;
    if (s.state !== 'connected') throw new Error('not connected');
    return { core: s.config.kc.makeApiClient(CoreV1Api), apps: s.config.kc.makeApiClient(AppsV1Api) };
  }

  private async namespaces(fallback: string): Promise<Node[]> {
    try {
      const list = await this.core().core.listNamespace();
      return list.items.map((ns) => ({ type: 'namespace' as const, name: ns.metadata?.name ?? '' })).filter((n) => n.name);
    } catch (e) {
      // Namespace-scoped credentials cannot list namespaces: show the context's own namespace.
      if (httpCode(e) === 403) return [{ type: 'namespace', name: fallback }];
      throw e;
    }
  }

  private async workloadsAndPods(namespace: string): Promise<Node[]> {
    const { core, apps } = this.core();
    const [deps, sets, pods] = await Promise.all([apps.listNamespacedDeployment({ namespace }), apps.listNamespacedStatefulSet({ namespace }), core.listNamespacedPod({ namespace })]);
    const workloads: Node[] = [
      ...deps.items.map((d) => ({ type: 'workload' as const, ref: { kind: 'Deployment' as const, namespace, name: d.metadata?.name ?? '' }, selector: d.spec?.selector?.matchLabels ?? {}, replicas: `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0} ready` })),
      ...sets.items.map((d) => ({ type: 'workload' as const, ref: { kind: 'StatefulSet' as const, namespace, name: d.metadata?.name ?? '' }, selector: d.spec?.selector?.matchLabels ?? {}, replicas: `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0} ready` })),
    ];
    // Pods no listed workload owns (standalone pods, clones, jobs) are listed directly.
    const owned = (p: V1Pod) => workloads.some((w) => w.type === 'workload' && Object.keys(w.selector).length > 0 && Object.entries(w.selector).every(([k, v]) => p.metadata?.labels?.[k] === v));
    const loose = pods.items.filter((p) => !owned(p)).map((pod) => ({ type: 'pod' as const, ref: { kind: 'Pod' as const, namespace, name: pod.metadata?.name ?? '' }, pod }));
    return [...workloads, ...loose];
  }

  private async pods(namespace: string, selector: Record<string, string>): Promise<Node[]> {
    const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = await this.core().core.listNamespacedPod({ namespace, labelSelector });
    return pods.items.map((pod) => ({ type: 'pod' as const, ref: { kind: 'Pod' as const, namespace, name: pod.metadata?.name ?? '' }, pod }));
  }
}
