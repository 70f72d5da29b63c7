import type { AgentParams, ForwardInfo } from '../../../dataplane/ipc/protocol';
import { parseDevlaneYaml, type DeclaredExposure, type DeclaredRegistration, type DeclaredReverseForward, type DeclaredTunnel, type YamlProblem } from '../config/devlaneYaml';
import { DevlaneError, toDevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';
import type { SessionRegistry } from '../sessions/registry';
import { checkBastionForward, explainBastionRefusal, isLoopback, openInbound, reachableFromFarSide, targetHost } from './registry/inbound';
import { RegistrationSession, type RegistrationSpec } from './registry/registrationSession';
import type { TunnelSession, TunnelSpec } from './tunnelSession';

/**
 * Tunnels a team declares in devlane.yaml (`tunnels:`): how each connects, and what is set up once
 * it is on — reverse forwards, Services in front of the agent, service-registry registrations.
 * Each item is set up on its own: one failing is reported and does not stop the others.
 */

export type DeclaredTunnels = { readonly ok: true; readonly tunnels: readonly DeclaredTunnel[] } | { readonly ok: false; readonly problems: readonly YamlProblem[] };

/** The tunnels a devlane.yaml text declares (none when it has no `tunnels:`). */
export function declaredTunnels(text: string): DeclaredTunnels {
  const r = parseDevlaneYaml(text);
  return r.ok ? { ok: true, tunnels: r.value.tunnels ?? [] } : { ok: false, problems: r.problems };
}

/** What the settings give a tunnel when devlane.yaml does not say. */
export interface TunnelDefaults {
  readonly socksPort: number;
  readonly httpPort?: number;
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  readonly agentSocket?: string;
}

/**
 * The spec to connect a declared tunnel. An agent tunnel needs the cluster connection's agent
 * parameters (kubeconfig, context, script), which only the caller knows; its namespace comes from
 * devlane.yaml when it names one.
 */
export function declaredTunnelSpec(d: DeclaredTunnel, defaults: TunnelDefaults, agent?: AgentParams): TunnelSpec {
  const common = {
    socksPort: d.socksPort ?? defaults.socksPort,
    ...(d.httpPort !== undefined ? { httpPort: d.httpPort } : defaults.httpPort !== undefined ? { httpPort: defaults.httpPort } : {}),
    ...(defaults.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: defaults.keepaliveIntervalMs } : {}),
    ...(defaults.keepaliveCountMax !== undefined ? { keepaliveCountMax: defaults.keepaliveCountMax } : {}),
  };
  if (d.transport === 'agent') {
    if (!agent) throw new DevlaneError('cluster-unreachable', `The tunnel "${d.name}" runs an agent in the cluster, and there is no cluster connection. Choose a kubeconfig and context first.`);
    const namespace = d.agent?.namespace ?? agent.namespace;
    return { ...common, destination: `${d.name} (agent in ${namespace})`, agent: { ...agent, namespace } };
  }
  const ssh = d.ssh;
  if (!ssh) throw new DevlaneError('invalid-input', `The tunnel "${d.name}" in devlane.yaml has transport ssh but no "ssh" with the bastion's host. Add it and connect again.`);
  const { host, clusterAddress: _forRegistrations, ...options } = ssh;
  return { ...common, destination: host, label: d.name, ...(Object.keys(options).length ? { ssh: options } : {}), ...(defaults.agentSocket ? { agentSocket: defaults.agentSocket } : {}) };
}

export type DeclaredItem =
  | { readonly kind: 'reverse'; readonly reverse: DeclaredReverseForward }
  | { readonly kind: 'expose'; readonly expose: DeclaredExposure }
  | { readonly kind: 'registration'; readonly registration: DeclaredRegistration };

export interface ItemOutcome {
  readonly item: DeclaredItem;
  readonly label: string;
  readonly state: 'pending' | 'ok' | 'failed';
  readonly error?: DevlaneError;
  /** The forward (reverse, expose) or the registration session (registration) made for it. */
  readonly forward?: ForwardInfo;
  readonly registration?: RegistrationSession;
}

export function declaredItems(d: DeclaredTunnel): DeclaredItem[] {
  return [
    ...(d.reverse ?? []).map((reverse) => ({ kind: 'reverse' as const, reverse })),
    ...(d.expose ?? []).map((expose) => ({ kind: 'expose' as const, expose })),
    ...(d.registrations ?? []).map((registration) => ({ kind: 'registration' as const, registration })),
  ];
}

export function itemLabel(item: DeclaredItem, transport: 'ssh' | 'agent'): string {
  switch (item.kind) {
    case 'reverse': {
      const r = item.reverse;
      return `reverse forward ${r.bind ?? (transport === 'agent' ? '0.0.0.0' : '127.0.0.1')}:${r.remotePort} → localhost:${r.localPort}`;
    }
    case 'expose':
      return `Service ${item.expose.service}:${item.expose.port ?? item.expose.localPort} → localhost:${item.expose.localPort}`;
    case 'registration':
      return `${item.registration.service} in ${item.registration.kind} → localhost:${item.registration.localPort}`;
  }
}

export interface DeclaredSetupDeps {
  readonly sessions: SessionRegistry;
  readonly log: Logger;
  /** Recorded in the registrations' metadata (who registered the instance). */
  readonly owner: string;
  /**
   * The tunnel was re-attached (the extension host restarted while the data plane kept it): its
   * forwards are what the previous set-up made; take them over instead of making them twice.
   */
  readonly adoptExisting?: boolean;
  /** Heartbeat timings for the registrations (tests shorten them). */
  readonly registryOptions?: Pick<RegistrationSpec, 'consul' | 'eureka' | 'nacos'>;
  /** How soon, and at most how rarely, failed items are tried again while the tunnel is up (tests shorten it). */
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
}

/**
 * A registry still starting, a port on the bastion not yet free, GatewayPorts fixed by the bastion's
 * admin: most failures end without anything changing on the laptop, so failed items are tried again
 * — first after 15 s, then twice as long each time up to 5 minutes — rather than only after a
 * reconnect. A declaration that is itself wrong is not tried again until devlane.yaml changes.
 */
const DEFAULT_RETRY = { initialMs: 15_000, maxMs: 5 * 60_000 } as const;

/**
 * What a declared tunnel sets up once connected, kept in step with the tunnel: each item is set up
 * independently; after a reconnect (sshd restarted, link back) failed items are tried again and
 * forwards the bastion lost are made again. Registrations are sessions carried by the tunnel, so
 * they end (deregister) before it. Disposing stops the watching; the forwards and Services end with
 * the tunnel.
 */
export class DeclaredSetup implements Disposable {
  private readonly changes = new Emitter<void>();
  readonly onDidChange = this.changes.event;
  private readonly items: ItemOutcome[];
  private readonly sub: Disposable;
  private wasDown = false;
  /** With adoptExisting: the forwards the tunnel had before, each taken over by the item it matches. */
  private readonly leftovers: ForwardInfo[];
  private disposed = false;
  private running: Promise<void> = Promise.resolve();
  private readonly retry: { readonly initialMs: number; readonly maxMs: number };
  private retryDelayMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly recovered = new Emitter<ItemOutcome>();
  /** An item that had failed is set up now (by a later try or after a reconnect). */
  readonly onDidRecover = this.recovered.event;

  private constructor(
    readonly tunnel: TunnelSession,
    readonly declared: DeclaredTunnel,
    private readonly deps: DeclaredSetupDeps,
  ) {
    this.items = declaredItems(declared).map((item) => ({ item, label: itemLabel(item, tunnel.transport), state: 'pending' }));
    this.leftovers = deps.adoptExisting ? [...tunnel.forwards] : [];
    this.retry = deps.retry ?? DEFAULT_RETRY;
    this.retryDelayMs = this.retry.initialMs;
    this.sub = tunnel.onDidChangeStatus((s) => {
      if (s.state !== 'running') {
        if (s.state !== 'stopped') this.wasDown = true;
        // Nothing can be set up through a tunnel that is down; the reconnect's reconcile tries again.
        this.cancelRetry();
        return;
      }
      if (!this.wasDown) return;
      this.wasDown = false;
      this.deps.log.info(`tunnel ${declared.name} is back: checking what devlane.yaml declares for it`);
      this.retryDelayMs = this.retry.initialMs;
      this.serialize(() => this.reconcile());
    });
  }

  /** Sets up every declared item of a connected tunnel; resolves once each one succeeded or failed. */
  static async apply(tunnel: TunnelSession, declared: DeclaredTunnel, deps: DeclaredSetupDeps): Promise<DeclaredSetup> {
    const setup = new DeclaredSetup(tunnel, declared, deps);
    setup.serialize(() => setup.setUpAll(setup.items.map((_, i) => i)));
    await setup.running;
    return setup;
  }

  get outcomes(): readonly ItemOutcome[] {
    return this.items;
  }

  get failures(): readonly ItemOutcome[] {
    return this.items.filter((o) => o.state === 'failed');
  }

  /** Resolves when the work started so far (set-up, a reconcile after a reconnect) has finished. */
  settled(): Promise<void> {
    return this.running;
  }

  dispose(): void {
    this.disposed = true;
    this.cancelRetry();
    this.sub.dispose();
    this.changes.dispose();
    this.recovered.dispose();
  }

  /** After each round of work: schedules the next try of what failed, if anything may still come up. */
  private serialize(work: () => Promise<void>): void {
    this.running = this.running
      .then(work)
      .catch((e: unknown) => this.deps.log.error(`devlane.yaml tunnel set-up: ${toDevlaneError(e).message}`))
      .then(() => this.scheduleRetry());
  }

  /** Failed items worth another try: not those whose declaration is wrong. */
  private retryable(): number[] {
    return this.items.flatMap((o, i) => (o.state === 'failed' && o.error?.reason !== 'invalid-input' ? [i] : []));
  }

  private scheduleRetry(): void {
    this.cancelRetry();
    if (this.disposed || this.tunnel.status.state !== 'running' || this.retryable().length === 0) return;
    const delay = this.retryDelayMs;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryDelayMs = Math.min(this.retry.maxMs, this.retryDelayMs * 2);
      this.serialize(async () => {
        const again = this.retryable();
        if (this.disposed || this.tunnel.status.state !== 'running' || again.length === 0) return;
        this.deps.log.info(`devlane.yaml tunnel ${this.declared.name}: trying ${again.length} failed item(s) again`);
        await this.setUpAll(again);
      });
    }, delay);
    // A pending try must not keep a process (tests, the data plane's host) alive on its own.
    this.retryTimer.unref?.();
  }

  private cancelRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async setUpAll(indexes: readonly number[]): Promise<void> {
    // In order, not in parallel: a registration may rely on a forward declared before it, and the
    // bastion sees one request at a time.
    for (const i of indexes) {
      if (this.disposed) return;
      const o = this.items[i]!;
      try {
        const made = await this.setUp(o.item, o.forward);
        const ok: ItemOutcome = { item: o.item, label: o.label, state: 'ok', ...made };
        this.items[i] = ok;
        this.deps.log.info(`devlane.yaml tunnel ${this.declared.name}: ${o.label} set up`);
        if (o.state === 'failed' && !this.disposed) this.recovered.fire(ok);
      } catch (e) {
        const error = toDevlaneError(e, 'tunnel-down');
        this.items[i] = { item: o.item, label: o.label, state: 'failed', error };
        this.deps.log.warn(`devlane.yaml tunnel ${this.declared.name}: ${o.label} failed: ${error.message}`);
      }
      this.changes.fire();
    }
  }

  /** `previous`: the forward a reverse item had before it was lost, whose port it gets again. */
  private async setUp(item: DeclaredItem, previous?: ForwardInfo): Promise<{ forward?: ForwardInfo; registration?: RegistrationSession }> {
    const t = this.tunnel;
    switch (item.kind) {
      case 'reverse': {
        const r = item.reverse;
        const bindAddress = r.bind ?? (t.transport === 'agent' ? '0.0.0.0' : '127.0.0.1');
        // Port 0 forwards cannot be told from a registration's: only a fixed port is taken over.
        const existing = previous || r.remotePort === 0 ? undefined : this.takeLeftover((f) => !f.service && f.bindAddress === bindAddress && f.bindPort === r.remotePort && f.localPort === r.localPort);
        let forward: ForwardInfo;
        try {
          forward = existing ?? (await t.addReverseForward({ bindAddress, bindPort: previous?.bindPort ?? r.remotePort, localHost: '127.0.0.1', localPort: r.localPort }));
        } catch (e) {
          throw t.transport === 'ssh' ? explainBastionRefusal(e, bindAddress) : e;
        }
        if (t.transport === 'ssh' && !isLoopback(bindAddress)) {
          try {
            await checkBastionForward(t.registryRoute(), forward, this.clusterAddress());
          } catch (e) {
            await t.removeReverseForward(forward.bindAddress, forward.bindPort).catch(() => undefined);
            throw e;
          }
        }
        return { forward };
      }
      case 'expose': {
        const x = item.expose;
        const existing = this.takeLeftover((f) => f.service?.name === x.service && f.localPort === x.localPort);
        return { forward: existing ?? (await t.exposeService(x.localPort, { name: x.service, port: x.port ?? x.localPort })) };
      }
      case 'registration': {
        const g = item.registration;
        const existing = this.takeLeftover((f) => !f.service && f.bindAddress === '0.0.0.0' && f.localPort === g.localPort && (!g.remotePort || f.bindPort === g.remotePort));
        const opened = await openInbound(t, { localPort: g.localPort, ...(g.remotePort !== undefined ? { remotePort: g.remotePort } : {}), clusterAddress: this.clusterAddress(), ...(existing ? { existing } : {}) });
        const registration = await RegistrationSession.start(
          {
            registry: { kind: g.kind, url: g.url },
            instance: { serviceName: g.service, inbound: opened.inbound, metadata: { 'devlane-owner': this.deps.owner, 'devlane-local-port': String(g.localPort), 'devlane-tunnel': this.declared.name } },
            route: t.registryRoute(),
            carriedBy: t.id,
            onEnded: opened.close,
            ...this.deps.registryOptions,
          },
          this.deps.log,
        );
        this.deps.sessions.add(registration);
        return { forward: opened.forward, registration };
      }
    }
  }

  private takeLeftover(match: (f: ForwardInfo) => boolean): ForwardInfo | undefined {
    const i = this.leftovers.findIndex(match);
    return i < 0 ? undefined : this.leftovers.splice(i, 1)[0];
  }

  private clusterAddress(): string {
    return this.declared.ssh?.clusterAddress ?? targetHost(this.tunnel.target);
  }

  /**
   * After a reconnect: the data plane asks the bastion for every forward again, but a port taken
   * meanwhile (or a bastion restarted with another config) only makes it log. Each forward is dialled
   * from the bastion; a dead one is made again. Failed items are tried again, except those whose
   * declaration itself is wrong.
   */
  private async reconcile(): Promise<void> {
    const retry: number[] = [];
    for (let i = 0; i < this.items.length; i++) {
      if (this.disposed) return;
      const o = this.items[i]!;
      if (o.state === 'failed' && o.error?.reason !== 'invalid-input') retry.push(i);
      if (o.state !== 'ok' || !o.forward || this.tunnel.transport !== 'ssh' || o.item.kind === 'expose') continue;
      // A registration the user ended stays ended.
      const reg = o.registration;
      if (reg && (reg.status.state === 'stopping' || reg.status.state === 'stopped')) continue;
      const f = o.forward;
      const address = isLoopback(f.bindAddress) ? '127.0.0.1' : f.bindAddress === '0.0.0.0' ? (reg?.spec.instance.inbound.address ?? this.clusterAddress()) : f.bindAddress;
      const alive = await reachableFromFarSide(this.tunnel.registryRoute(), address, f.bindPort).catch(() => false);
      if (alive) continue;
      this.deps.log.warn(`devlane.yaml tunnel ${this.declared.name}: ${o.label}: the bastion no longer accepts connections at ${address}:${f.bindPort}; setting it up again`);
      // A registered address nobody can reach is worse than none: deregister (which removes its forward), then register anew.
      if (reg) await this.deps.sessions.end(reg.id);
      else await this.tunnel.removeReverseForward(f.bindAddress, f.bindPort).catch(() => undefined);
      retry.push(i);
    }
    await this.setUpAll(retry);
  }
}
