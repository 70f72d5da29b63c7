import * as crypto from 'node:crypto';
import { DevlaneError, toDevlaneError } from '../../errors';
import { Emitter } from '../../events';
import type { Logger } from '../../log';
import type { Session, SessionStatus } from '../../sessions/session';
import { ConsulClient, type ConsulOptions } from './consul';
import { EurekaClient, type EurekaOptions } from './eureka';
import { NacosClient, type NacosOptions } from './nacos';
import type { RegistryRoute } from './http';
import type { Registered, RegistryClient, RegistryTarget, ServiceInstance } from './types';

export interface RegistrationSpec {
  readonly registry: RegistryTarget;
  readonly instance: ServiceInstance;
  /** How registry calls travel: through the tunnel's SOCKS proxy unless the registry is reachable directly. */
  readonly route: RegistryRoute;
  readonly consul?: ConsulOptions;
  readonly eureka?: EurekaOptions;
  readonly nacos?: NacosOptions;
  /** The tunnel session the registry calls travel through: the session registry ends this registration before it. */
  readonly carriedBy?: string;
  /** Called once the instance is deregistered (e.g. to remove the reverse forward made for it). */
  readonly onEnded?: () => Promise<void>;
}

export function registryClient(spec: Pick<RegistrationSpec, 'registry' | 'route' | 'consul' | 'eureka' | 'nacos'>): RegistryClient {
  switch (spec.registry.kind) {
    case 'consul':
      return new ConsulClient(spec.registry.url, spec.route, spec.consul);
    case 'eureka':
      return new EurekaClient(spec.registry.url, spec.route, spec.eureka);
    case 'nacos':
      return new NacosClient(spec.registry.url, spec.route, spec.nacos);
  }
}

/** Names every registry accepts everywhere (DNS label rules): Consul, Eureka and Nacos each choke on others in places. */
export function validRegistryServiceName(name: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(name);
}

/** An instance id unique to this laptop and run, so two developers registering the same service do not collide. */
export function newInstanceId(serviceName: string, inbound: { address: string; port: number }): string {
  return `${serviceName}-devlane-${inbound.address}-${inbound.port}-${crypto.randomBytes(3).toString('hex')}`;
}

/**
 * One registration as a session: registered at start, kept alive as the registry requires,
 * deregistered by dispose(). A failed heartbeat marks it degraded and retries; a registry that
 * forgot the instance (restart, expired lease) gets it registered again.
 */
export class RegistrationSession implements Session {
  readonly kind = 'registration' as const;
  readonly id: string;
  readonly carriedBy: string | undefined;
  readonly label: string;
  private readonly statusEmitter = new Emitter<SessionStatus>();
  readonly onDidChangeStatus = this.statusEmitter.event;
  private current: SessionStatus = { state: 'starting', detail: 'registering' };
  private timer: NodeJS.Timeout | undefined;
  private registered: Registered | undefined;
  private ending: Promise<void> | undefined;
  private beat: Promise<void> | undefined;
  /** Heartbeats the registry accepted (shown in the view; tests wait on it). */
  renewals = 0;
  lastError: DevlaneError | undefined;

  private constructor(
    readonly spec: RegistrationSpec,
    private readonly client: RegistryClient,
    readonly instanceId: string,
    private readonly log: Logger,
  ) {
    this.id = `registration-${instanceId}`;
    this.carriedBy = spec.carriedBy;
    const { inbound } = spec.instance;
    this.label = `${spec.instance.serviceName} → ${inbound.address}:${inbound.port} (${spec.registry.kind})`;
  }

  get status(): SessionStatus {
    return this.current;
  }

  /** Registers the instance; resolves with the running session or throws the registry's refusal (nothing stays registered). */
  static async start(spec: RegistrationSpec, log: Logger): Promise<RegistrationSession> {
    const name = spec.instance.serviceName;
    if (!validRegistryServiceName(name)) throw new DevlaneError('invalid-input', `"${name}" is not a usable service name. Use letters, digits and dashes (at most 63), starting and ending with a letter or digit.`);
    const { port } = spec.instance.inbound;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DevlaneError('invalid-input', `Port ${port} cannot be registered: the inbound listener needs a port from 1 to 65535.`);
    const session = new RegistrationSession(spec, registryClient(spec), newInstanceId(name, spec.instance.inbound), log);
    try {
      session.registered = await session.client.register(spec.instance, session.instanceId);
    } catch (e) {
      await spec.onEnded?.().catch(() => undefined);
      throw toDevlaneError(e, 'registry-rejected');
    }
    log.info(`registered ${session.label} as ${session.instanceId} at ${spec.registry.url}`);
    session.set({ state: 'running', detail: `registered in ${spec.registry.kind}` });
    session.schedule();
    return session;
  }

  private schedule(): void {
    if (this.ending || !this.registered) return;
    this.timer = setTimeout(() => {
      this.beat = this.heartbeat().finally(() => {
        this.beat = undefined;
        this.schedule();
      });
    }, this.current.state === 'degraded' ? Math.min(5_000, this.registered.renewEveryMs) : this.registered.renewEveryMs);
  }

  private async heartbeat(): Promise<void> {
    const registered = this.registered;
    if (!registered || this.ending) return;
    try {
      const known = await this.client.renew(this.spec.instance, registered);
      if (!known && !this.ending) {
        this.log.warn(`${this.spec.registry.kind} no longer knew ${this.instanceId}; registering it again`);
        this.registered = await this.client.register(this.spec.instance, this.instanceId);
      }
      this.renewals++;
      this.lastError = undefined;
      this.set({ state: 'running', detail: `registered in ${this.spec.registry.kind} · ${this.renewals} heartbeat${this.renewals === 1 ? '' : 's'}` });
    } catch (e) {
      this.lastError = toDevlaneError(e, 'registry-rejected');
      this.log.warn(`heartbeat for ${this.label} failed: ${this.lastError.message}`);
      this.set({ state: 'degraded', detail: `heartbeat failed: ${this.lastError.message}` });
    }
  }

  /** Deregisters (bounded by the registry call's own timeout) and ends. Idempotent. */
  dispose(): Promise<void> {
    this.ending ??= (async () => {
      clearTimeout(this.timer);
      this.set({ state: 'stopping', detail: 'deregistering' });
      await this.beat?.catch(() => undefined);
      try {
        if (this.registered) await this.client.deregister(this.spec.instance, this.registered);
        this.log.info(`deregistered ${this.instanceId} from ${this.spec.registry.url}`);
      } catch (e) {
        // Consul and Eureka drop an instance whose heartbeats stop; say so rather than fail the shutdown.
        this.log.warn(`deregistering ${this.label} failed (${toDevlaneError(e).message}); the registry drops it when its heartbeat lease expires`);
      } finally {
        this.registered = undefined;
        await this.spec.onEnded?.().catch((e: unknown) => this.log.warn(`cleaning up after ${this.label}: ${e instanceof Error ? e.message : String(e)}`));
        this.set({ state: 'stopped' });
        this.statusEmitter.dispose();
      }
    })();
    return this.ending;
  }

  private set(s: SessionStatus): void {
    this.current = s;
    this.statusEmitter.fire(s);
  }
}
