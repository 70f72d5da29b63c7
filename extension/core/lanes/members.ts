import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod, type V1Service, type V1ServicePort } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { api, classifyApiError } from '../kube/apiErrors';
import { httpCode } from '../kube/probe';
import { cloneAnnotations } from '../clones/labels';
import { laneLabels, laneServiceName } from './names';

/**
 * A lane's member for a Service is reached through a per-lane Service of its own
 * (`dl-<lane>-<service>`), in the Service's namespace, selecting the member pod by a label Devlane
 * puts on it, with the Service's ports. Routes (VirtualService, HTTPRoute, router) send the lane's
 * requests there; the user's Service is never changed for a member. Owned by the lane's lease, the
 * per-lane Service goes at the lane's expiry.
 */

/** The label on a member pod that its per-lane Service selects: `lane.devlane.io/<per-lane Service>: "true"`. */
export const memberLabel = (memberService: string) => `lane.devlane.io/${memberService}`;

/** Whether `selector` selects a pod with these labels (Services select by equality only). */
function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/**
 * The Services a clone stood in before it was taken out of their selectors: those whose selector
 * matches the clone's labels together with the labels it had moved aside.
 */
export function servicesOfClone(pod: V1Pod, services: readonly V1Service[]): V1Service[] {
  let moved: Record<string, string> = {};
  try {
    moved = JSON.parse(pod.metadata?.annotations?.[cloneAnnotations.originalLabels] ?? '{}') as Record<string, string>;
  } catch {
    moved = {};
  }
  const labels = { ...pod.metadata?.labels, ...moved };
  return services.filter((s) => s.spec?.type !== 'ExternalName' && selects(s.spec?.selector, labels));
}

export interface MemberServiceInput {
  readonly lane: string;
  readonly service: V1Service;
  readonly lease?: { readonly name: string; readonly uid: string };
  /** For a local member: the agent pod's port for each of the Service's ports (by port number). */
  readonly targetPorts?: Readonly<Record<number, number>>;
}

/** The per-lane Service. Pure. */
export function memberServiceBody(input: MemberServiceInput): V1Service {
  const svc = input.service;
  const name = laneServiceName(input.lane, svc.metadata!.name!);
  const ports: V1ServicePort[] = (svc.spec?.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    targetPort: input.targetPorts?.[p.port] ?? p.targetPort ?? p.port,
  }));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: svc.metadata!.namespace!,
      labels: { [laneLabels.managedBy]: 'devlane', [laneLabels.component]: 'lane-member', [laneLabels.lane]: input.lane, 'devlane.io/service': svc.metadata!.name! },
      ...(input.lease ? { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: input.lease.name, uid: input.lease.uid, controller: false, blockOwnerDeletion: false }] } : {}),
    },
    spec: { selector: { [memberLabel(name)]: 'true' }, ports },
  };
}

export class Members {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async service(namespace: string, name: string): Promise<V1Service> {
    const svc = await api({ verb: 'get', resource: 'services', namespace, name }, () => this.core.readNamespacedService({ namespace, name }));
    if (svc.spec?.type === 'ExternalName' || !svc.spec?.ports?.length) {
      throw new DevlaneError('invalid-input', `Service ${namespace}/${name} has no ports to route (${svc.spec?.type === 'ExternalName' ? 'an ExternalName Service' : 'no ports'}): a lane routes requests to a Service in front of pods.`);
    }
    return svc;
  }

  /** The Services a clone pod serves as a member (see servicesOfClone). */
  async servicesOf(pod: V1Pod): Promise<V1Service[]> {
    const namespace = pod.metadata!.namespace!;
    const list = await api({ verb: 'list', resource: 'services', namespace }, () => this.core.listNamespacedService({ namespace }));
    return servicesOfClone(pod, list.items);
  }

  /** Makes (or updates) the per-lane Service and labels the member pod for it. */
  async add(input: MemberServiceInput, pod: string): Promise<string> {
    const body = memberServiceBody(input);
    const { name, namespace } = body.metadata as { name: string; namespace: string };
    try {
      await this.core.createNamespacedService({ namespace, body });
    } catch (e) {
      if (httpCode(e) !== 409) throw classifyApiError(e, { verb: 'create', resource: 'services', namespace, name });
      const existing = await this.core.readNamespacedService({ namespace, name });
      if (existing.metadata?.labels?.[laneLabels.managedBy] !== 'devlane') throw new DevlaneError('already-exists', `A Service ${namespace}/${name} that Devlane did not make is in the way of the lane's member Service. Rename the lane.`);
      await api({ verb: 'patch', resource: 'services', namespace, name }, () =>
        this.core.patchNamespacedService({ namespace, name, body: { metadata: { ownerReferences: body.metadata!.ownerReferences ?? [] }, spec: { ports: body.spec!.ports, selector: body.spec!.selector } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      );
    }
    await this.label(namespace, pod, name, 'true');
    return name;
  }

  /** Takes the member out: its label off the pod (the pod may be gone) and the per-lane Service deleted. */
  async remove(namespace: string, memberService: string, pod: string): Promise<void> {
    await this.label(namespace, pod, memberService, null).catch((e: unknown) => {
      if (!(e instanceof DevlaneError && e.reason === 'not-found')) throw e;
    });
    try {
      await this.core.deleteNamespacedService({ namespace, name: memberService });
    } catch (e) {
      if (httpCode(e) !== 404) throw classifyApiError(e, { verb: 'delete', resource: 'services', namespace, name: memberService });
    }
  }

  private async label(namespace: string, pod: string, memberService: string, value: string | null): Promise<void> {
    await api({ verb: 'patch', resource: 'pods', namespace, name: pod }, () =>
      this.core.patchNamespacedPod({ namespace, name: pod, body: { metadata: { labels: { [memberLabel(memberService)]: value } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    );
  }
}
