import type { LaneKey } from './key';

/**
 * What Devlane's own lane router (the no-mesh back-end, lane-router/) is told: for one Service, the
 * ports it takes over, where their baseline is, and the lanes with their targets. The extension
 * writes it to the router's ConfigMap (read at start and when the file changes) and pushes it to
 * each router pod's admin port (so a change is routed within the second), and the router never
 * goes back to an older generation. Requests carrying a lane's key go to that lane's target for
 * the port; every other request, and every request of a lane past its expiry or without a target
 * for the port, goes to the baseline, untouched.
 */
export interface RouterConfig {
  readonly version: 1;
  /** The Service whose callers reach the router. */
  readonly service: { readonly namespace: string; readonly name: string };
  readonly key: LaneKey;
  readonly ports: readonly RouterPort[];
  readonly lanes: readonly RouterLane[];
  /** Grows with every change. */
  readonly generation: number;
}

export interface RouterPort {
  /** The port the router listens on (the Service's target port). */
  readonly port: number;
  /** Its name in the pod spec, when the Service targets it by name. */
  readonly name?: string;
  /**
   * `http` (HTTP/1.1 and h2c, told apart per connection), or `tcp`: passed through to the baseline
   * as bytes (the router cannot see a key there).
   */
  readonly protocol: 'http' | 'tcp';
  /** host:port of the baseline (a Service Devlane made with the original selector). */
  readonly baseline: string;
}

export interface RouterLane {
  readonly name: string;
  /** RFC 3339; after it the lane's requests go to the baseline (its routes are gone by the TTL). */
  readonly expiresAt: string;
  /** Target port → host:port of the lane's member for it (its per-lane Service). */
  readonly targets: Readonly<Record<string, string>>;
  /** Percent (0–100) of baseline requests copied to the member, answers discarded. */
  readonly mirrorPercent?: number;
}

/** The router's admin port (health, config), reached through the API server's port-forward. */
export const routerAdminPort = 15990;

/** Asked for by a request header `x-devlane-explain: 1`, the router answers with `x-devlane-route` saying what it did. */
export const explainHeader = 'x-devlane-explain';
export const routeHeader = 'x-devlane-route';
