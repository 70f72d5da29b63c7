import { createHash } from 'node:crypto';

/**
 * Names of the objects lanes make. Kubernetes names are at most 63 characters (Services: DNS
 * labels); a long pair is cut and given a short hash of the whole, so two lanes never share a name.
 */
function label(parts: readonly string[]): string {
  const whole = parts.join('-');
  if (whole.length <= 63) return whole;
  const hash = createHash('sha256').update(whole).digest('hex').slice(0, 8);
  return `${whole.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** The per-lane Service selecting a lane's member for `service`: `dl-<lane>-<service>`. */
export function laneServiceName(lane: string, service: string): string {
  return label(['dl', lane, service]);
}

/** The Service Devlane's router forwards baseline traffic to (the original selector): `<service>-dl-base`. */
export function baselineServiceName(service: string): string {
  return label([service, 'dl-base']);
}

/** The router Deployment (and its ConfigMap) for `service`: `<service>-dl-router`. */
export function routerName(service: string): string {
  return label([service, 'dl-router']);
}

/** Labels and annotations on what lanes make or touch. */
export const laneLabels = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'devlane.io/component',
  lane: 'devlane.io/lane',
  owner: 'devlane.io/owner',
  /** On a clone or agent pod: the lanes it is a member for (`<lane>.<service>`, label-safe). */
  member: 'devlane.io/lane-member',
  /** On a Service or VirtualService Devlane changed: what it was before (JSON), to restore exactly. */
  original: 'devlane.io/original',
} as const;
