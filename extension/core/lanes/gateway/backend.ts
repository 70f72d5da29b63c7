import { CoreV1Api, CustomObjectsApi, type V1ServicePort } from '@kubernetes/client-node';
import { DevlaneError } from '../../errors';
import { api, classifyApiError } from '../../kube/apiErrors';
import { httpCode } from '../../kube/probe';
import { laneHeaderRegex } from '../../../../common/lanes/key';
import type { LaneBackend, LaneBackendEnv, LaneRoute, ServiceRoutes } from '../backend';
import { gitOpsManager } from '../gitops';
import { laneLabels, laneServiceName } from '../names';

/**
 * The Gateway API back-end (GAMMA: HTTPRoutes whose parent is a Service, which the mesh applies to
 * that Service's callers). Routes of one Service from several HTTPRoutes are merged by the mesh,
 * so each lane gets HTTPRoutes of its own — a header match on the key, the per-lane Service as
 * backend — owned by the lane's lease, so they go at its expiry even with nobody to delete them.
 * Nothing of the user's is changed. Because meshes differ on requests no route matches (the spec
 * rejects them; Istio sends them on to the Service), Devlane adds a catch-all route to the baseline
 * while the Service has lanes and no HTTPRoute of the user's.
 */

const group = 'gateway.networking.k8s.io';
const version = 'v1';
const plural = 'httproutes';
const serviceLabel = 'devlane.io/service';

interface HTTPRoute {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: unknown[] };
  spec: { parentRefs?: { group?: string; kind?: string; name: string; namespace?: string; port?: number }[]; rules?: unknown[] };
}

export const baselineRouteName = (service: string) => `dl-base-${service}`.slice(0, 63).replace(/-+$/, '');

/** The HTTPRoutes Devlane wants for the Service: one per lane and port, and the catch-all when the user has none. */
export function desiredRoutes(desired: ServiceRoutes, ports: readonly V1ServicePort[], userRoutes: number): HTTPRoute[] {
  const { namespace, name } = desired.service;
  const portsOf = ports.filter((p) => (p.protocol ?? 'TCP') === 'TCP');
  const out: HTTPRoute[] = [];
  const labels = (extra: Record<string, string>) => ({ [laneLabels.managedBy]: 'devlane', [serviceLabel]: name, ...extra });
  for (const lane of desired.lanes) {
    for (const p of portsOf) {
      const routeName = portsOf.length > 1 ? `${laneServiceName(lane.lane, name).slice(0, 56)}-p${p.port}` : laneServiceName(lane.lane, name);
      out.push({
        apiVersion: `${group}/${version}`,
        kind: 'HTTPRoute',
        metadata: {
          name: routeName,
          namespace,
          labels: labels({ [laneLabels.component]: 'lane-route', [laneLabels.lane]: lane.lane, [laneLabels.owner]: lane.owner }),
          ...(lane.lease ? { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: lane.lease.name, uid: lane.lease.uid, controller: false, blockOwnerDeletion: false }] } : {}),
        },
        spec: {
          parentRefs: [{ group: '', kind: 'Service', name, port: p.port }],
          rules: [
            {
              matches: [{ headers: [{ type: 'RegularExpression', name: desired.key.header, value: laneHeaderRegex(desired.key, lane.lane) }] }],
              backendRefs: [{ name: lane.memberService, port: p.port }],
            },
          ],
        },
      });
    }
  }
  if (desired.lanes.length > 0 && userRoutes === 0) {
    const mirrored = desired.lanes.filter((l) => (l.mirrorPercent ?? 0) > 0);
    out.push({
      apiVersion: `${group}/${version}`,
      kind: 'HTTPRoute',
      metadata: { name: baselineRouteName(name), namespace, labels: labels({ [laneLabels.component]: 'baseline-route' }) },
      spec: {
        parentRefs: portsOf.map((p) => ({ group: '', kind: 'Service', name, port: p.port })),
        rules: portsOf.map((p) => ({
          backendRefs: [{ name, port: p.port }],
          ...(mirrored.length ? { filters: mirrored.map((l: LaneRoute) => ({ type: 'RequestMirror', requestMirror: { backendRef: { name: l.memberService, port: p.port }, percent: l.mirrorPercent } })) } : {}),
        })),
      },
    });
  }
  return out;
}

export class GatewayBackend implements LaneBackend {
  readonly kind = 'gateway' as const;
  private readonly objects: CustomObjectsApi;

  constructor(private readonly env: LaneBackendEnv) {
    this.objects = env.kc.makeApiClient(CustomObjectsApi);
  }

  async apply(desired: ServiceRoutes): Promise<void> {
    const { namespace, name } = desired.service;
    const service = await api({ verb: 'get', resource: 'services', namespace, name }, () => this.env.kc.makeApiClient(CoreV1Api).readNamespacedService({ namespace, name }));
    const all = await this.list(namespace);
    const ours = all.filter((r) => r.metadata.labels?.[laneLabels.managedBy] === 'devlane' && r.metadata.labels?.[serviceLabel] === name);
    const users = all.filter((r) => !ours.includes(r) && (r.spec.parentRefs ?? []).some((p) => p.kind === 'Service' && (p.group ?? '') === '' && p.name === name && (p.namespace ?? namespace) === namespace));
    if (desired.lanes.some((l) => (l.mirrorPercent ?? 0) > 0) && users.length > 0) {
      throw new DevlaneError('invalid-input', `Mirroring to a lane needs a route to the baseline that Devlane may add the mirror to, but ${name} is routed by your HTTPRoute ${users[0]!.metadata.name}. Add a RequestMirror filter there, or mirror with the Istio or router back-end.`);
    }
    const managed = desired.allowGitOps ? undefined : gitOpsManager(service.metadata);
    if (managed && desired.lanes.length > 0 && ours.length === 0) this.env.log.info(`Service ${namespace}/${name} is managed by ${managed}; its lane HTTPRoutes are objects of Devlane's own, which a sync leaves alone`);
    const want = desiredRoutes(desired, service.spec?.ports ?? [], users.length);
    for (const route of want) await this.put(route, ours.find((r) => r.metadata.name === route.metadata.name));
    for (const stale of ours.filter((r) => !want.some((w) => w.metadata.name === r.metadata.name))) {
      await this.objects.deleteNamespacedCustomObject({ group, version, namespace, plural, name: stale.metadata.name }).catch((e: unknown) => {
        if (httpCode(e) !== 404) throw classifyApiError(e, { verb: 'delete', resource: plural, group, namespace, name: stale.metadata.name });
      });
    }
  }

  private async put(route: HTTPRoute, existing: HTTPRoute | undefined): Promise<void> {
    const namespace = route.metadata.namespace!;
    const name = route.metadata.name;
    try {
      if (existing) await this.objects.replaceNamespacedCustomObject({ group, version, namespace, plural, name, body: { ...route, metadata: { ...route.metadata, resourceVersion: existing.metadata.resourceVersion } } });
      else await this.objects.createNamespacedCustomObject({ group, version, namespace, plural, body: route });
    } catch (e) {
      throw classifyApiError(e, { verb: existing ? 'patch' : 'create', resource: plural, group, namespace, name });
    }
  }

  private async list(namespace: string): Promise<HTTPRoute[]> {
    try {
      return ((await this.objects.listNamespacedCustomObject({ group, version, namespace, plural })) as { items: HTTPRoute[] }).items;
    } catch (e) {
      if (httpCode(e) === 404) throw new DevlaneError('mesh-absent', `The cluster serves no Gateway API HTTPRoutes (${group}/${version}): the Gateway API CRDs are not installed. Route lanes with Istio or Devlane's router instead.`, { cause: e });
      throw classifyApiError(e, { verb: 'list', resource: plural, group, namespace });
    }
  }
}
