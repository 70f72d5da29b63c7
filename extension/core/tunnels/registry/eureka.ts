import { expectOk, httpCall, joinUrl, type HttpAnswer, type RegistryRoute } from './http';
import type { Registered, RegistryClient, ServiceInstance } from './types';

export interface EurekaOptions {
  /** Eureka clients renew every 30 s and expire after 90 s: the defaults the server assumes. */
  readonly renewIntervalSeconds?: number;
  readonly leaseDurationSeconds?: number;
}

/** Eureka names applications in upper case; its REST paths use that form. */
export const eurekaAppName = (serviceName: string) => serviceName.toUpperCase();

/** The instance document Devlane POSTs to /apps/{APP} (pure, for tests). */
export function eurekaInstance(instance: ServiceInstance, instanceId: string, opts: EurekaOptions = {}): Record<string, unknown> {
  const { address, port } = instance.inbound;
  const base = `http://${address}:${port}`;
  return {
    instance: {
      instanceId,
      hostName: address,
      app: eurekaAppName(instance.serviceName),
      ipAddr: address,
      vipAddress: instance.serviceName,
      secureVipAddress: instance.serviceName,
      status: 'UP',
      port: { $: port, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      homePageUrl: `${base}/`,
      statusPageUrl: `${base}/`,
      healthCheckUrl: `${base}/`,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: opts.renewIntervalSeconds ?? 30, durationInSecs: opts.leaseDurationSeconds ?? 90 },
      metadata: { ...instance.metadata },
    },
  };
}

/** Eureka through its REST API: POST the instance, PUT heartbeats, DELETE on stop. `baseUrl` ends in `/eureka` for Spring Cloud servers. */
export class EurekaClient implements RegistryClient {
  readonly kind = 'eureka' as const;
  constructor(
    private readonly baseUrl: string,
    private readonly route: RegistryRoute,
    private readonly opts: EurekaOptions = {},
  ) {}

  async register(instance: ServiceInstance, instanceId: string): Promise<Registered> {
    const r = await this.call('POST', this.instancePath(instance), eurekaInstance(instance, instanceId, this.opts));
    expectOk(r, `registering ${instance.serviceName} with Eureka`);
    return { instanceId, renewEveryMs: (this.opts.renewIntervalSeconds ?? 30) * 1000 };
  }

  async renew(instance: ServiceInstance, registered: Registered): Promise<boolean> {
    const r = await this.call('PUT', `${this.instancePath(instance)}/${encodeURIComponent(registered.instanceId)}?status=UP`);
    // 404: the lease expired or the server restarted; the client must register again.
    if (r.status === 404) return false;
    expectOk(r, 'renewing the Eureka lease');
    return true;
  }

  async deregister(instance: ServiceInstance, registered: Registered): Promise<void> {
    const r = await this.call('DELETE', `${this.instancePath(instance)}/${encodeURIComponent(registered.instanceId)}`);
    if (r.status === 404) return;
    expectOk(r, 'deregistering from Eureka');
  }

  private instancePath(instance: ServiceInstance): string {
    return `/apps/${encodeURIComponent(eurekaAppName(instance.serviceName))}`;
  }

  private call(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<HttpAnswer> {
    return httpCall(this.route, { method, url: joinUrl(this.baseUrl, path), ...(body !== undefined ? { body } : {}) });
  }
}
