import { CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { ListWatchSource } from '../observe/resilientWatch';
import { cloneSelector } from './labels';

/**
 * List-and-watch of clone pods (every owner's: the label selector the server can apply; callers
 * filter by owner), cluster-wide or in one namespace when listing all is forbidden. The tree
 * watches these so a clone's phase, expiry and disappearance show without a manual refresh.
 */
export function clonePodSource(kc: KubeConfig, namespace?: string): ListWatchSource<V1Pod> {
  const api = kc.makeApiClient(CoreV1Api);
  const watch = new Watch(kc);
  const path = namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : '/api/v1/pods';
  return {
    async list() {
      const r = namespace ? await api.listNamespacedPod({ namespace, labelSelector: cloneSelector }) : await api.listPodForAllNamespaces({ labelSelector: cloneSelector });
      return { items: r.items, resourceVersion: r.metadata?.resourceVersion ?? '' };
    },
    async watch(resourceVersion, onEvent, onDone) {
      const ctl = await watch.watch(path, { resourceVersion, allowWatchBookmarks: true, labelSelector: cloneSelector }, (type, obj) => onEvent(type, obj), onDone);
      return { abort: () => ctl.abort() };
    },
  };
}
