import { expectOk, httpCall, joinUrl, type HttpAnswer, type RegistryRoute } from './http';
import type { Registered, RegistryClient, ServiceInstance } from './types';

export interface ConsulOptions {
  /** The TTL of the check that says the instance is alive; renewed at a third of it. */
  readonly ttlSeconds?: number;
  /** Consul removes an instance whose check stayed critical this long (the laptop vanished without deregistering). */
  readonly deregisterAfterSeconds?: number;
  /** ACL token, sent as X-Consul-Token; never logged. */
  readonly token?: string;
}

/** The agent-API service definition Devlane registers (pure, for tests). */
export function consulServiceDefinition(instance: ServiceInstance, instanceId: string, opts: ConsulOptions = {}): Record<string, unknown> {
  const ttl = opts.ttlSeconds ?? 30;
  return {
    ID: instanceId,
    Name: instance.serviceName,
    Address: instance.inbound.address,
    Port: instance.inbound.port,
    Meta: { ...instance.metadata },
    Tags: ['devlane'],
    Check: {
      CheckID: consulCheckId(instanceId),
      Name: 'Devlane tunnel heartbeat',
      TTL: `${ttl}s`,
      // Passing at once: the instance is reachable as soon as the reverse forward exists.
      Status: 'passing',
      // Consul's floor is one minute; an orphan (laptop gone) disappears on its own after that.
      DeregisterCriticalServiceAfter: `${Math.max(60, opts.deregisterAfterSeconds ?? 90)}s`,
    },
  };
}

export const consulCheckId = (instanceId: string) => `service:${instanceId}`;

/** Consul through its agent HTTP API: register with a TTL check, pass the check, deregister. */
export class ConsulClient implements RegistryClient {
  readonly kind = 'consul' as const;
  constructor(
    private readonly baseUrl: string,
    private readonly route: RegistryRoute,
    private readonly opts: ConsulOptions = {},
  ) {}

  async register(instance: ServiceInstance, instanceId: string): Promise<Registered> {
    const r = await this.call('PUT', '/v1/agent/service/register', consulServiceDefinition(instance, instanceId, this.opts));
    expectOk(r, `registering ${instance.serviceName} with Consul`);
    return { instanceId, renewEveryMs: Math.max(1_000, ((this.opts.ttlSeconds ?? 30) * 1000) / 3) };
  }

  async renew(_instance: ServiceInstance, registered: Registered): Promise<boolean> {
    const r = await this.call('PUT', `/v1/agent/check/pass/${encodeURIComponent(consulCheckId(registered.instanceId))}`);
    // An unknown check (agent restarted, or Consul reaped the instance) answers 404 or 500 "does not have associated TTL".
    if (r.status === 404 || r.status === 500) return false;
    expectOk(r, 'renewing the Consul TTL check');
    return true;
  }

  async deregister(_instance: ServiceInstance, registered: Registered): Promise<void> {
    const r = await this.call('PUT', `/v1/agent/service/deregister/${encodeURIComponent(registered.instanceId)}`);
    if (r.status === 404) return;
    expectOk(r, 'deregistering from Consul');
  }

  private call(method: 'PUT' | 'GET', path: string, body?: unknown): Promise<HttpAnswer> {
    return httpCall(this.route, { method, url: joinUrl(this.baseUrl, path), ...(body !== undefined ? { body } : {}), ...(this.opts.token ? { headers: { 'x-consul-token': this.opts.token } } : {}) });
  }
}

