import { isDeepStrictEqual } from 'node:util';
import { DevlaneError } from '../../errors';
import { laneHeaderRegex, type LaneKey } from '../../../../common/lanes/key';
import type { LaneRoute } from '../backend';

/**
 * Lane routes in an Istio VirtualService, as pure functions over its spec. Istio uses the first
 * HTTP route that matches, and does not merge several VirtualServices for one host inside the mesh,
 * so lanes live in the one VirtualService that routes the host: for each of the user's routes that
 * sends traffic to the Service, each lane gets a copy placed just before it that also requires the
 * lane's key and sends to the lane's member instead — the user's other conditions, rewrites,
 * timeouts and retries kept. Devlane's routes are named `devlane-<lane>-…`; taking them out (and the
 * mirrors Devlane added) gives back the user's spec.
 */

export interface HttpRouteDestination {
  host: string;
  subset?: string;
  port?: { number?: number };
}
export interface HttpRoute {
  name?: string;
  match?: Record<string, unknown>[];
  route?: { destination: HttpRouteDestination; weight?: number; headers?: unknown }[];
  delegate?: unknown;
  mirror?: HttpRouteDestination;
  mirrors?: { destination: HttpRouteDestination; percentage?: { value: number } }[];
  [field: string]: unknown;
}
export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HttpRoute[];
  exportTo?: string[];
  [field: string]: unknown;
}

const devlanePrefix = 'devlane-';

/** The names a Service goes by in a VirtualService of its namespace. */
export function hostNames(service: { namespace: string; name: string }, clusterDomain = 'cluster.local'): string[] {
  const { name, namespace } = service;
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${clusterDomain}`];
}

export const laneHost = (memberService: string, namespace: string, clusterDomain = 'cluster.local') => `${memberService}.${namespace}.svc.${clusterDomain}`;

const isDevlaneRoute = (r: HttpRoute) => typeof r.name === 'string' && r.name.startsWith(devlanePrefix);

/** Whether a route sends (some of) its traffic to the Service. */
export function routesTo(r: HttpRoute, hosts: readonly string[]): boolean {
  return (r.route ?? []).some((d) => hosts.includes(d.destination.host));
}

/** Whether the VirtualService routes mesh traffic for the Service's host (not only gateway traffic). */
export function governsHost(spec: VirtualServiceSpec, hosts: readonly string[]): boolean {
  const mesh = !spec.gateways?.length || spec.gateways.includes('mesh');
  return mesh && (spec.hosts ?? []).some((h) => hosts.includes(h));
}

/** Refuses what lanes cannot be added to safely: a user route that already matches on the lane key. */
function checkMatches(spec: VirtualServiceSpec, key: LaneKey, hosts: readonly string[], where: string): void {
  for (const r of spec.http ?? []) {
    if (isDevlaneRoute(r) || !routesTo(r, hosts)) continue;
    for (const m of r.match ?? []) {
      const headers = (m.headers ?? {}) as Record<string, unknown>;
      if (Object.keys(headers).some((h) => h.toLowerCase() === key.header)) {
        throw new DevlaneError(
          'invalid-input',
          `${where} already matches on the header "${key.header}" (route ${r.name ?? '(unnamed)'}): a lane route there could not tell your rule from Devlane's. Name another lane header in devlane.yaml (lanes.key.header), or route this service with the router back-end.`,
        );
      }
    }
  }
}

/** The spec without Devlane's routes and the mirrors it added (`mirrorHosts`): the user's own, as they are now. */
export function withoutLanes(spec: VirtualServiceSpec, mirrorHosts: readonly string[]): VirtualServiceSpec {
  const http = (spec.http ?? []).filter((r) => !isDevlaneRoute(r)).map((r) => {
    const mirrors = r.mirrors?.filter((m) => !mirrorHosts.includes(m.destination.host));
    if (!r.mirrors || mirrors?.length === r.mirrors.length) return r;
    const { mirrors: _dropped, ...rest } = r;
    return mirrors && mirrors.length > 0 ? { ...rest, mirrors } : rest;
  });
  return { ...spec, http };
}

export interface LaneEdit {
  readonly service: { readonly namespace: string; readonly name: string };
  readonly key: LaneKey;
  readonly lanes: readonly LaneRoute[];
  /** For messages: "VirtualService shop/orders". */
  readonly where: string;
  readonly clusterDomain?: string;
}

/** A Devlane route name: `devlane-<lane>-<the user's route name or its place>`. */
function copyName(lane: string, original: HttpRoute, index: number): string {
  return `${devlanePrefix}${lane}-${original.name ?? `route${index}`}`;
}

/** One lane's copy of a user route: the key added to every match, its destinations to the lane's member. */
function laneCopy(original: HttpRoute, index: number, lane: LaneRoute, edit: LaneEdit, hosts: readonly string[]): HttpRoute {
  const regex = laneHeaderRegex(edit.key, lane.lane);
  const keyMatch = { [edit.key.header]: { regex } };
  const match = original.match?.length ? original.match.map((m) => ({ ...m, headers: { ...((m.headers ?? {}) as Record<string, unknown>), ...keyMatch } })) : [{ headers: keyMatch }];
  const target = laneHost(lane.memberService, edit.service.namespace, edit.clusterDomain);
  // The member serves the lane's requests: one destination, no subsets (its Service has none).
  const ports = (original.route ?? []).filter((d) => hosts.includes(d.destination.host)).map((d) => d.destination.port);
  const { mirror: _m, mirrors: _ms, mirrorPercentage: _mp, ...rest } = original;
  return {
    ...rest,
    name: copyName(lane.lane, original, index),
    match,
    route: [{ destination: { host: target, ...(ports[0] ? { port: ports[0] } : {}) } }],
  };
}

/**
 * The spec with exactly `edit.lanes` routed: Devlane's earlier routes and the mirrors it added
 * before (`previousMirrors`) replaced, the user's routes untouched; and the mirror hosts it adds
 * now (to be remembered for the next change).
 */
export function withLanes(spec: VirtualServiceSpec, edit: LaneEdit, previousMirrors: readonly string[] = []): { spec: VirtualServiceSpec; mirrors: string[] } {
  const hosts = hostNames(edit.service, edit.clusterDomain);
  checkMatches(spec, edit.key, hosts, edit.where);
  const base = withoutLanes(spec, previousMirrors);
  const added = new Set<string>();
  const lanes = [...edit.lanes].sort((a, b) => a.lane.localeCompare(b.lane));
  const http: HttpRoute[] = [];
  (base.http ?? []).forEach((r, i) => {
    if (routesTo(r, hosts)) {
      for (const l of lanes) http.push(laneCopy(r, i, l, edit, hosts));
      const mirrored = lanes.filter((l) => (l.mirrorPercent ?? 0) > 0);
      if (mirrored.length > 0) {
        r = {
          ...r,
          mirrors: [
            ...(r.mirrors ?? []),
            ...mirrored.map((l) => {
              const host = laneHost(l.memberService, edit.service.namespace, edit.clusterDomain);
              added.add(host);
              return { destination: { host }, percentage: { value: l.mirrorPercent! } };
            }),
          ],
        };
      }
    }
    http.push(r);
  });
  return { spec: { ...base, http }, mirrors: [...added] };
}

/** Whether the spec has any of Devlane's routes. */
export function hasLanes(spec: VirtualServiceSpec): boolean {
  return (spec.http ?? []).some(isDevlaneRoute);
}

/**
 * What to write back once the last lane left: the spec as it was before Devlane's first change
 * (`original`) when the user's part is unchanged since, so even fields Devlane emptied come back as
 * they were; otherwise the user's current spec without Devlane's entries (their change is kept).
 */
export function restoredSpec(current: VirtualServiceSpec, original: VirtualServiceSpec | undefined, mirrors: readonly string[]): VirtualServiceSpec {
  const stripped = withoutLanes(current, mirrors);
  if (original && isDeepStrictEqual(normalized(original), normalized(stripped))) return original;
  return stripped;
}

/** A spec with what only differs in form dropped (an empty list and a missing one are the same). */
function normalized(spec: VirtualServiceSpec): unknown {
  return JSON.parse(JSON.stringify(spec, (_k, v: unknown) => (Array.isArray(v) && v.length === 0 ? undefined : v)));
}

/** A VirtualService of Devlane's own for a host no VirtualService routes: lane routes, then the default route. */
export function ownVirtualService(edit: LaneEdit): { spec: VirtualServiceSpec; mirrors: string[] } {
  const defaultRoute: HttpRoute = { name: 'default', route: [{ destination: { host: edit.service.name } }] };
  return withLanes({ hosts: [edit.service.name], http: [defaultRoute] }, edit);
}
