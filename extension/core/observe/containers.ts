/** The containers of a pod as a picker lists them: init, sidecar, app and ephemeral. */
import type { V1Pod } from '@kubernetes/client-node';

export type ContainerKind = 'init' | 'sidecar' | 'app' | 'ephemeral';

export interface ContainerInfo {
  readonly name: string;
  readonly kind: ContainerKind;
  readonly image?: string;
  /** waiting/running/terminated, from the status. */
  readonly state: 'waiting' | 'running' | 'terminated' | 'unknown';
  readonly restarts: number;
  /** A previous instance exists (it restarted): its log can be read with `previous`. */
  readonly hasPrevious: boolean;
  readonly waitingReason?: string;
}

export function containersOf(pod: V1Pod): ContainerInfo[] {
  const status = new Map([...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])].map((s) => [s.name, s]));
  const info = (name: string, kind: ContainerKind, image: string | undefined): ContainerInfo => {
    const s = status.get(name);
    const state = s?.state?.running ? 'running' : s?.state?.terminated ? 'terminated' : s?.state?.waiting ? 'waiting' : 'unknown';
    return {
      name,
      kind,
      ...(image ? { image } : {}),
      state,
      restarts: s?.restartCount ?? 0,
      hasPrevious: !!s?.lastState?.terminated,
      ...(s?.state?.waiting?.reason ? { waitingReason: s.state.waiting.reason } : {}),
    };
  };
  return [
    ...(pod.spec?.initContainers ?? []).map((c) => info(c.name, c.restartPolicy === 'Always' ? 'sidecar' : 'init', c.image)),
    ...(pod.spec?.containers ?? []).map((c) => info(c.name, 'app', c.image)),
    ...(pod.spec?.ephemeralContainers ?? []).map((c) => info(c.name, 'ephemeral', c.image)),
  ];
}

/** The container a view opens first: the one named by the default-container annotation, else the first app container. */
export function defaultContainer(pod: V1Pod): string | undefined {
  const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  const all = containersOf(pod);
  if (annotated && all.some((c) => c.name === annotated)) return annotated;
  return all.find((c) => c.kind === 'app')?.name ?? all[0]?.name;
}
