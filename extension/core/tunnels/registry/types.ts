/**
 * Service-registry registration: the local service announced in the cluster's registry under an
 * address the cluster can reach (a bastion's remote forward or a listener on the in-cluster agent).
 * The common shape every registry client implements; no VS Code API here.
 */

export type RegistryKind = 'consul' | 'eureka' | 'nacos';

export const registryKinds: readonly RegistryKind[] = ['consul', 'eureka', 'nacos'];

/** Where cluster traffic for the local service arrives: the same shape for either transport. */
export interface InboundAddress {
  /** An address pods can dial: the bastion's cluster-side IP or host name, or the agent pod's IP. */
  readonly address: string;
  readonly port: number;
  /** Which transport carries it, for display only. */
  readonly via: 'bastion' | 'agent';
}

export interface ServiceInstance {
  readonly serviceName: string;
  readonly inbound: InboundAddress;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface RegistryTarget {
  readonly kind: RegistryKind;
  /** The registry's HTTP base, usually a cluster name (`http://consul.infra:8500`, `http://eureka.infra:8761/eureka`, `http://nacos.infra:8848/nacos`). */
  readonly url: string;
}

/** A registered instance as the registry knows it: enough to renew and to deregister it. */
export interface Registered {
  readonly instanceId: string;
  /** How often the registry wants to hear from us. */
  readonly renewEveryMs: number;
}

export interface RegistryClient {
  readonly kind: RegistryKind;
  register(instance: ServiceInstance, instanceId: string): Promise<Registered>;
  /** Tells the registry the instance is alive; resolves `false` when the registry no longer knows it (re-register). */
  renew(instance: ServiceInstance, registered: Registered): Promise<boolean>;
  deregister(instance: ServiceInstance, registered: Registered): Promise<void>;
}
