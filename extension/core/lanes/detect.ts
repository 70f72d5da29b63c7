import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { httpCode } from '../kube/probe';
import type { BackendKind } from './backend';

/**
 * Which back-end routes a Service's lanes, seen from the cluster: Istio when the Service's pods
 * run Istio's sidecar (then the Gateway API back-end if the Service is already routed by
 * HTTPRoutes — Istio does not support mixing the two for one workload — else VirtualServices);
 * Devlane's router otherwise. devlane.yaml can choose per Service; the choice is checked here too.
 */

export interface Detected {
  readonly backend: BackendKind;
  /** In a few words, for the view and the log: "pods have Istio sidecars; routed by HTTPRoute orders-v2". */
  readonly why: string;
}

export interface MeshFacts {
  /** istiod pods Ready in istio-system. */
  readonly istiod: boolean;
  /** The Service's pods carry the istio-proxy sidecar. */
  readonly sidecars: boolean;
  /** Names of the user's HTTPRoutes whose parent is the Service. */
  readonly httpRoutes: readonly string[];
}

/** The back-end for these facts, or the one devlane.yaml chose. Pure. */
export function chooseBackend(facts: MeshFacts, chosen?: BackendKind): Detected {
  if (chosen) return { backend: chosen, why: 'chosen in devlane.yaml' };
  if (facts.sidecars && facts.istiod) {
    if (facts.httpRoutes.length > 0) return { backend: 'gateway', why: `pods have Istio sidecars; the Service is routed by HTTPRoute ${facts.httpRoutes.join(', ')}` };
    return { backend: 'istio', why: 'pods have Istio sidecars' };
  }
  if (facts.sidecars) return { backend: 'router', why: 'pods have Istio sidecars but istiod does not run: Devlane routes with its own router' };
  return { backend: 'router', why: 'no service mesh: Devlane routes with its own router' };
}

const hasSidecar = (p: V1Pod) => [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].some((c) => c.name === 'istio-proxy');

/** Reads the facts for a Service; what cannot be read (RBAC, no CRDs) counts as absent. */
export async function meshFacts(kc: KubeConfig, namespace: string, service: string): Promise<MeshFacts> {
  const core = kc.makeApiClient(CoreV1Api);
  const svc = await core.readNamespacedService({ namespace, name: service });
  const selector = Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = selector ? (await core.listNamespacedPod({ namespace, labelSelector: selector }).catch(() => ({ items: [] as V1Pod[] }))).items : [];
  const sidecars = pods.length > 0 && pods.some(hasSidecar);
  const istiod = sidecars
    ? (await core.listNamespacedPod({ namespace: 'istio-system', labelSelector: 'app=istiod' }).catch(() => ({ items: [] as V1Pod[] }))).items.some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    : false;
  let httpRoutes: string[] = [];
  try {
    const list = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace, plural: 'httproutes' })) as {
      items: { metadata: { name: string; labels?: Record<string, string> }; spec: { parentRefs?: { kind?: string; group?: string; name: string }[] } }[];
    };
    httpRoutes = list.items
      .filter((r) => r.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'devlane' && (r.spec.parentRefs ?? []).some((p) => p.kind === 'Service' && (p.group ?? '') === '' && p.name === service))
      .map((r) => r.metadata.name);
  } catch (e) {
    if (httpCode(e) !== 404 && httpCode(e) !== 403) throw e;
  }
  return { istiod, sidecars, httpRoutes };
}
