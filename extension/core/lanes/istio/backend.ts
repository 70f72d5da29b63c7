import { CustomObjectsApi } from '@kubernetes/client-node';
import { DevlaneError } from '../../errors';
import { api, classifyApiError } from '../../kube/apiErrors';
import { httpCode } from '../../kube/probe';
import type { LaneBackend, LaneBackendEnv, ServiceRoutes } from '../backend';
import { gitOpsManager } from '../gitops';
import { laneLabels } from '../names';
import { governsHost, hasLanes, hostNames, ownVirtualService, restoredSpec, routesTo, withLanes, type VirtualServiceSpec } from './virtualService';

/**
 * The Istio back-end: lane routes in the VirtualServices that route the Service (see
 * virtualService.ts). Every write is a read-modify-write on resourceVersion that touches only
 * Devlane's routes and mirrors, retried on conflict; the spec from before Devlane's first change is
 * kept in an annotation so the last lane out restores it exactly (unless someone changed their part
 * meanwhile: then theirs is kept and only Devlane's entries leave). With no VirtualService for the
 * host, Devlane makes its own, with a default route, and deletes it with the last lane.
 */

const group = 'networking.istio.io';
const version = 'v1';
const plural = 'virtualservices';
/** On a VirtualService: Devlane leaves it alone. */
export const optOutAnnotation = 'devlane.io/ignore';
/** On a VirtualService Devlane changed: the mirror hosts it added (JSON list), so taking them out never touches the user's. */
const mirrorsAnnotation = 'devlane.io/mirrors';
const maxConflicts = 8;

interface VirtualService {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: VirtualServiceSpec;
}

export class IstioBackend implements LaneBackend {
  readonly kind = 'istio' as const;
  private readonly objects: CustomObjectsApi;

  constructor(private readonly env: LaneBackendEnv) {
    this.objects = env.kc.makeApiClient(CustomObjectsApi);
  }

  async apply(desired: ServiceRoutes): Promise<void> {
    const { namespace, name } = desired.service;
    const hosts = hostNames(desired.service);
    const ownName = `devlane-${name}`;
    for (let attempt = 0; ; attempt++) {
      const all = await this.list(namespace);
      const mine = all.find((vs) => vs.metadata.name === ownName && vs.metadata.labels?.[laneLabels.managedBy] === 'devlane');
      const touched = all.filter((vs) => vs !== mine && (governsHost(vs.spec, hosts) || (vs.spec.http ?? []).some((r) => routesTo(r, hosts)) || hasLanes(vs.spec)));
      if (desired.lanes.length > 0) this.check(touched, desired);
      const governing = touched.filter((vs) => governsHost(vs.spec, hosts));
      if (governing.length > 1) {
        throw new DevlaneError('invalid-input', `${governing.length} VirtualServices route the host ${name} inside the mesh (${governing.map((v) => v.metadata.name).join(', ')}); Istio uses only one of them. Merge them into one, then add the lane again.`);
      }
      try {
        for (const vs of touched) await this.edit(vs, desired);
        await this.own(ownName, mine, desired, governing.length === 0 && desired.lanes.length > 0);
        return;
      } catch (e) {
        if (httpCode(e) === 409 && attempt < maxConflicts) continue;
        throw e instanceof DevlaneError ? e : classifyApiError(e, { verb: 'patch', resource: plural, group, namespace });
      }
    }
  }

  /** What lanes may not be added to: an opted-out VirtualService, or one Argo CD or Flux manages (unless allowed). */
  private check(touched: readonly VirtualService[], desired: ServiceRoutes): void {
    const { namespace, name } = desired.service;
    const optedOut = touched.find((vs) => vs.metadata.annotations?.[optOutAnnotation] === 'true');
    if (optedOut) {
      throw new DevlaneError('lane-opted-out', `VirtualService ${namespace}/${optedOut.metadata.name} says "${optOutAnnotation}: true": Devlane adds no lane routes to it. Route ${name} with Devlane's router or the Gateway API back-end (lanes.services in devlane.yaml), or remove the annotation.`);
    }
    const managed = desired.allowGitOps ? undefined : touched.find((vs) => gitOpsManager(vs.metadata) && !vs.metadata.annotations?.[laneLabels.original]);
    if (managed) {
      throw new DevlaneError('gitops-managed', `VirtualService ${namespace}/${managed.metadata.name} is managed by ${gitOpsManager(managed.metadata)}: its next sync puts back the version in Git and drops the lane routes. Route ${name} with the Gateway API back-end (its lane routes are objects of their own) or Devlane's router, or add the routes anyway.`);
    }
  }

  /** One of the user's VirtualServices: Devlane's routes replaced by the desired ones, or all taken out. */
  private async edit(vs: VirtualService, desired: ServiceRoutes): Promise<void> {
    const where = `VirtualService ${desired.service.namespace}/${vs.metadata.name}`;
    const annotations = { ...vs.metadata.annotations };
    const previousMirrors = parseList(annotations[mirrorsAnnotation]);
    const saved = annotations[laneLabels.original];
    const original = saved ? (JSON.parse(saved) as VirtualServiceSpec) : undefined;
    let spec: VirtualServiceSpec;
    if (desired.lanes.length === 0) {
      if (!hasLanes(vs.spec) && !original) return;
      spec = restoredSpec(vs.spec, original, previousMirrors);
      delete annotations[laneLabels.original];
      delete annotations[mirrorsAnnotation];
    } else {
      const next = withLanes(vs.spec, { service: desired.service, key: desired.key, lanes: desired.lanes, where }, previousMirrors);
      spec = next.spec;
      annotations[laneLabels.original] ??= JSON.stringify(vs.spec);
      if (next.mirrors.length) annotations[mirrorsAnnotation] = JSON.stringify(next.mirrors);
      else delete annotations[mirrorsAnnotation];
    }
    const body: VirtualService = { ...vs, metadata: { ...vs.metadata, annotations } };
    body.spec = spec;
    if (Object.keys(annotations).length === 0) delete body.metadata.annotations;
    await this.objects.replaceNamespacedCustomObject({ group, version, namespace: desired.service.namespace, plural, name: vs.metadata.name, body });
    this.env.log.info(`${where}: ${desired.lanes.length ? `lane routes for ${desired.lanes.map((l) => l.lane).join(', ')}` : 'lane routes removed'}`);
  }

  /** Devlane's own VirtualService for a host nobody routes: made with the first lane, deleted with the last (or when the user makes one). */
  private async own(name: string, existing: VirtualService | undefined, desired: ServiceRoutes, wanted: boolean): Promise<void> {
    const { namespace } = desired.service;
    if (!wanted) {
      if (existing) await this.objects.deleteNamespacedCustomObject({ group, version, namespace, plural, name }).catch((e: unknown) => (httpCode(e) === 404 ? undefined : Promise.reject(e)));
      return;
    }
    const spec = ownVirtualService({ service: desired.service, key: desired.key, lanes: desired.lanes, where: `VirtualService ${namespace}/${name}` }).spec;
    const metadata = { name, namespace, labels: { [laneLabels.managedBy]: 'devlane', [laneLabels.component]: 'lane-routes' }, ...(existing?.metadata.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}) };
    const body: VirtualService = { apiVersion: `${group}/${version}`, kind: 'VirtualService', metadata, spec };
    if (existing) await this.objects.replaceNamespacedCustomObject({ group, version, namespace, plural, name, body });
    else await this.objects.createNamespacedCustomObject({ group, version, namespace, plural, body });
  }

  private async list(namespace: string): Promise<VirtualService[]> {
    try {
      const r = (await this.objects.listNamespacedCustomObject({ group, version, namespace, plural })) as { items: VirtualService[] };
      return r.items;
    } catch (e) {
      if (httpCode(e) === 404) throw new DevlaneError('mesh-absent', `The cluster has no Istio VirtualServices (networking.istio.io/${version} is not served): Istio is not installed. Route lanes with Devlane's router instead (lanes.services in devlane.yaml).`, { cause: e });
      throw classifyApiError(e, { verb: 'list', resource: plural, group, namespace });
    }
  }
}

function parseList(v: string | undefined): string[] {
  if (!v) return [];
  try {
    const list = JSON.parse(v) as unknown;
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** For callers that only need to read: whether any VirtualService of the namespace holds Devlane's routes. */
export async function virtualServicesWithLanes(env: LaneBackendEnv, namespace: string): Promise<string[]> {
  const r = await api({ verb: 'list', resource: plural, group, namespace }, () => env.kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group, version, namespace, plural }));
  return ((r as { items: VirtualService[] }).items ?? []).filter((v) => hasLanes(v.spec)).map((v) => v.metadata.name);
}
