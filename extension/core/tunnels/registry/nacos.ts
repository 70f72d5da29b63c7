import { expectOk, httpCall, joinUrl, type HttpAnswer, type RegistryRoute } from './http';
import type { Registered, RegistryClient, ServiceInstance } from './types';

export interface NacosOptions {
  /** Ephemeral instances beat every 5 s; Nacos marks one unhealthy after 15 s of silence and drops it after 30 s. */
  readonly beatIntervalSeconds?: number;
  readonly namespaceId?: string;
  readonly groupName?: string;
  readonly clusterName?: string;
}

const CLUSTER = 'DEFAULT';

/** Query parameters shared by register and deregister (pure, for tests). */
export function nacosInstanceParams(instance: ServiceInstance, opts: NacosOptions = {}): URLSearchParams {
  const p = new URLSearchParams({
    serviceName: instance.serviceName,
    ip: instance.inbound.address,
    port: String(instance.inbound.port),
    // Ephemeral: Nacos forgets the instance by itself when the beats stop (the laptop vanished).
    ephemeral: 'true',
    clusterName: opts.clusterName ?? CLUSTER,
  });
  if (opts.namespaceId) p.set('namespaceId', opts.namespaceId);
  if (opts.groupName) p.set('groupName', opts.groupName);
  return p;
}

/** The beat document of the v1 open API (pure, for tests). */
export function nacosBeat(instance: ServiceInstance, opts: NacosOptions = {}): Record<string, unknown> {
  return { serviceName: instance.serviceName, ip: instance.inbound.address, port: instance.inbound.port, cluster: opts.clusterName ?? CLUSTER, weight: 1, metadata: { ...instance.metadata } };
}

/** Nacos 2.x answers a beat for an instance it does not know with code 20404 in a 200 body. */
export function nacosBeatKnown(r: HttpAnswer): boolean {
  if (r.status === 404) return false;
  try {
    return (JSON.parse(r.body) as { code?: number }).code !== 20404;
  } catch {
    return true;
  }
}

/** Nacos through its v1 open API: register an ephemeral instance, beat it, delete it. `baseUrl` ends in `/nacos`. */
export class NacosClient implements RegistryClient {
  readonly kind = 'nacos' as const;
  constructor(
    private readonly baseUrl: string,
    private readonly route: RegistryRoute,
    private readonly opts: NacosOptions = {},
  ) {}

  async register(instance: ServiceInstance, instanceId: string): Promise<Registered> {
    const p = nacosInstanceParams(instance, this.opts);
    p.set('metadata', JSON.stringify(instance.metadata));
    const r = await this.call('POST', `/v1/ns/instance?${p}`);
    expectOk(r, `registering ${instance.serviceName} with Nacos`);
    return { instanceId, renewEveryMs: (this.opts.beatIntervalSeconds ?? 5) * 1000 };
  }

  async renew(instance: ServiceInstance): Promise<boolean> {
    const p = new URLSearchParams({ serviceName: instance.serviceName, beat: JSON.stringify(nacosBeat(instance, this.opts)) });
    if (this.opts.namespaceId) p.set('namespaceId', this.opts.namespaceId);
    if (this.opts.groupName) p.set('groupName', this.opts.groupName);
    const r = await this.call('PUT', `/v1/ns/instance/beat?${p}`);
    if (!nacosBeatKnown(r)) return false;
    expectOk(r, 'sending the Nacos beat');
    return true;
  }

  async deregister(instance: ServiceInstance): Promise<void> {
    const r = await this.call('DELETE', `/v1/ns/instance?${nacosInstanceParams(instance, this.opts)}`);
    if (r.status === 404) return;
    expectOk(r, 'deregistering from Nacos');
  }

  private call(method: 'POST' | 'PUT' | 'DELETE', path: string): Promise<HttpAnswer> {
    return httpCall(this.route, { method, url: joinUrl(this.baseUrl, path) });
  }
}
