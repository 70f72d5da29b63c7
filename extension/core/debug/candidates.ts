import { AppsV1Api, type KubeConfig, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import type { DevlaneError } from '../errors';
import type { SavedClone } from '../clones/config';
import { api, classifyApiError } from '../kube/apiErrors';
import { httpCode } from '../kube/probe';
import { cloneLabels } from '../clones/labels';
import { moduleOf, rankWorkloads, type RankedCandidate, type WorkloadCandidate } from './likelyWorkload';

/** A workload F5 can debug in a clone, with what the pick shows of it. */
export interface DebugCandidate extends WorkloadCandidate {
  /** Readiness as the tree shows it ("2/2 ready"), when the cluster answered. */
  readonly readiness?: string;
}

export interface CandidateSources {
  readonly kc: KubeConfig;
  /** The context's namespace: looked in when listing across namespaces is refused. */
  readonly namespace: string;
  readonly saved: readonly SavedClone[];
  readonly workspace: string;
  readonly activeFile?: string;
}

export interface DebugCandidates {
  readonly ranked: RankedCandidate<DebugCandidate>[];
  /** Set when the cluster could not be listed (the pick still offers devlane.yaml's entries and attaching). */
  readonly listError?: DevlaneError;
}

const systemNamespace = (ns: string) => ns.startsWith('kube-') || ns === 'istio-system' || ns === 'local-path-storage';

/**
 * Deployments and StatefulSets to debug, likeliest first: the cluster's (across namespaces when
 * allowed, else the context's and devlane.yaml's namespaces) and devlane.yaml's entries, merged.
 * Clones and the control plane's namespaces are left out.
 */
export async function debugCandidates(src: CandidateSources): Promise<DebugCandidates> {
  const byKey = new Map<string, DebugCandidate>();
  const key = (kind: string, namespace: string, name: string) => `${namespace}/${kind}/${name}`;
  for (const s of src.saved) {
    const artifact = typeof s.options.deploy?.artifact === 'string' ? s.options.deploy.artifact : undefined;
    byKey.set(key(s.kind, s.namespace, s.name), { kind: s.kind, namespace: s.namespace, name: s.name, images: [], inDevlaneYaml: true, ...(artifact ? { artifact } : {}) });
  }
  let listError: DevlaneError | undefined;
  try {
    for (const w of await listWorkloads(src.kc, [src.namespace, ...src.saved.map((s) => s.namespace)])) {
      const k = key(w.kind, w.namespace, w.name);
      const saved = byKey.get(k);
      byKey.set(k, { ...w, inDevlaneYaml: saved !== undefined, ...(saved?.artifact ? { artifact: saved.artifact } : {}) });
    }
  } catch (e) {
    listError = classifyApiError(e, { verb: 'list', resource: 'deployments', group: 'apps', namespace: src.namespace });
  }
  const module = src.activeFile ? moduleOf(src.activeFile, src.workspace) : undefined;
  const name = src.workspace.split(/[\\/]/).filter(Boolean).pop() ?? '';
  return { ranked: rankWorkloads([...byKey.values()], module, name), ...(listError ? { listError } : {}) };
}

type Listed = Omit<DebugCandidate, 'inDevlaneYaml' | 'artifact'>;

async function listWorkloads(kc: KubeConfig, fallbackNamespaces: readonly string[]): Promise<Listed[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  let deployments: V1Deployment[];
  let statefulSets: V1StatefulSet[];
  try {
    [deployments, statefulSets] = await Promise.all([apps.listDeploymentForAllNamespaces().then((l) => l.items), apps.listStatefulSetForAllNamespaces().then((l) => l.items)]);
  } catch (e) {
    if (httpCode(e) !== 403) throw e;
    // Developers are often allowed their own namespaces only.
    const namespaces = [...new Set(fallbackNamespaces)];
    const per = await Promise.all(
      namespaces.map(async (namespace) => {
        const [d, s] = await Promise.all([
          api({ verb: 'list', resource: 'deployments', group: 'apps', namespace }, () => apps.listNamespacedDeployment({ namespace })),
          api({ verb: 'list', resource: 'statefulsets', group: 'apps', namespace }, () => apps.listNamespacedStatefulSet({ namespace })),
        ]);
        return { d: d.items, s: s.items };
      }),
    );
    deployments = per.flatMap((p) => p.d);
    statefulSets = per.flatMap((p) => p.s);
  }
  const out: Listed[] = [];
  const add = (kind: string, w: V1Deployment | V1StatefulSet) => {
    const m = w.metadata;
    if (!m?.name || !m.namespace || m.deletionTimestamp || systemNamespace(m.namespace) || m.labels?.[cloneLabels.clone] === 'true') return;
    const images = (w.spec?.template.spec?.containers ?? []).map((c) => c.image ?? '').filter(Boolean);
    out.push({ kind, namespace: m.namespace, name: m.name, images, readiness: `${w.status?.readyReplicas ?? 0}/${w.spec?.replicas ?? 1} ready` });
  };
  for (const d of deployments) add('Deployment', d);
  for (const s of statefulSets) add('StatefulSet', s);
  return out;
}
