import type { KubeConfig } from '@kubernetes/client-node';
import type { LaneKey } from '../../../common/lanes/key';
import type { Logger } from '../log';

/**
 * What a lane back-end is asked to make true for one Service: these lanes, each routed to its
 * member's per-lane Service, everything else to the baseline. The same shape for every back-end
 * (Istio VirtualService routes, Gateway API HTTPRoutes, Devlane's own router); `lanes: []` means
 * "no lane here any more": the back-end takes out what it added and restores what it changed.
 * Applying the same desired state twice changes nothing.
 */
export interface ServiceRoutes {
  readonly service: { readonly namespace: string; readonly name: string };
  readonly key: LaneKey;
  readonly lanes: readonly LaneRoute[];
  /**
   * Add lane routes to objects Argo CD or Flux manage, knowing their next sync may take them out.
   * Without it, such an object is refused (reason `gitops-managed`) so the user can choose another
   * back-end.
   */
  readonly allowGitOps?: boolean;
}

export interface LaneRoute {
  readonly lane: string;
  /** The owner's label-safe identity (clones' ownerIdentity().label). */
  readonly owner: string;
  readonly expiresAt: Date;
  /** The per-lane Service in the Service's namespace that selects the lane's member (laneServiceName). */
  readonly memberService: string;
  /** Percent (0–100) of the baseline's requests copied to the member, answers discarded. */
  readonly mirrorPercent?: number;
  /** The lane's lease Job in the Service's namespace: per-lane objects are owned by it, so they go at the lane's expiry. */
  readonly lease?: { readonly name: string; readonly uid: string };
}

export type BackendKind = 'istio' | 'gateway' | 'router';

export interface LaneBackendEnv {
  readonly kc: KubeConfig;
  readonly log: Logger;
}

export interface LaneBackend {
  readonly kind: BackendKind;
  apply(desired: ServiceRoutes, signal?: AbortSignal): Promise<void>;
}
