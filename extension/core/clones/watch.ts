import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { collectionSource, namespacedPath, type ListWatchSource } from '../observe/resilientWatch';
import { cloneSelector } from './labels';

/**
 * List-and-watch of clone pods (every owner's: the label selector the server can apply; callers
 * filter by owner), cluster-wide or in one namespace when listing all is forbidden. The tree
 * watches these so a clone's phase, expiry and disappearance show without a manual refresh.
 */
export function clonePodSource(kc: KubeConfig, namespace?: string): ListWatchSource<V1Pod> {
  const api = kc.makeApiClient(CoreV1Api);
  const query = { labelSelector: cloneSelector };
  return namespace
    ? collectionSource(kc, namespacedPath('/api/v1', namespace, 'pods'), (q) => api.listNamespacedPod({ namespace, ...q }), query)
    : collectionSource(kc, '/api/v1/pods', (q) => api.listPodForAllNamespaces(q), query);
}
