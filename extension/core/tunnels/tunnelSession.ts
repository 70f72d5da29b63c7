import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AgentParams, ForwardInfo, ForwardRequest, StartTunnelParams, TunnelInfo, TunnelStateEvent, TunnelTotals } from '../../../dataplane/ipc/protocol';
import { parseDestination, parseSshConfig, resolveChain, type SshConfig, type SshConfigBlock, type SshHop } from '../../../dataplane/ssh/sshConfig';
import type { ConnectionStats } from '../../../dataplane/proxy/connections';
import { DevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Session, SessionStatus } from '../sessions/session';
import type { DataPlaneClient } from './dataPlane';
import { newProxyCredentials } from './proxyEnv';
import type { RegistryRoute, SocksCredentials } from './registry/http';

export interface TunnelSpec {
  /** `alias` from ~/.ssh/config or `[user@]host[:port]`; a label when `agent` is set. */
  readonly destination: string;
  /** The name to show (a devlane.yaml tunnel's name), before the destination. */
  readonly label?: string;
  /** Use the in-cluster agent instead of an SSH bastion. */
  readonly agent?: AgentParams;
  readonly socksPort: number;
  readonly httpPort?: number;
  readonly sshConfigFile?: string;
  /** Options for the destination that take precedence over ~/.ssh/config (devlane.yaml's `ssh`). */
  readonly ssh?: SshOptions;
  /** Username/password the SOCKS and HTTP proxies require; kept in memory only. */
  readonly socksCredentials?: SocksCredentials;
  /** Both proxies require fresh random credentials, made at connect (unless socksCredentials gives them). */
  readonly proxyAuth?: boolean;
  readonly knownHostsFiles?: readonly string[];
  readonly hashKnownHosts?: boolean;
  readonly agentSocket?: string;
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  readonly probeIntervalMs?: number;
  readonly degradedAfterMs?: number;
}

export interface SshOptions {
  readonly user?: string;
  readonly port?: number;
  readonly identityFile?: string;
  readonly proxyJump?: string;
}

/**
 * The user's SSH config with a first block for the destination carrying `options`: OpenSSH takes
 * the first value it meets (IdentityFile accumulates), so these win and the rest of the user's
 * config still applies (HostName of an alias, keys, jump hosts of the jump hosts).
 */
export function withOptions(cfg: SshConfig, host: string, options: SshOptions | undefined): SshConfig {
  if (!options) return cfg;
  const opts: { keyword: string; args: string[]; line: number }[] = [];
  if (options.user !== undefined) opts.push({ keyword: 'user', args: [options.user], line: 0 });
  if (options.port !== undefined) opts.push({ keyword: 'port', args: [String(options.port)], line: 0 });
  if (options.identityFile !== undefined) opts.push({ keyword: 'identityfile', args: [options.identityFile], line: 0 });
  if (options.proxyJump !== undefined) opts.push({ keyword: 'proxyjump', args: [options.proxyJump], line: 0 });
  if (opts.length === 0) return cfg;
  const block: SshConfigBlock = { patterns: [host], options: opts };
  return { blocks: [block, ...cfg.blocks], warnings: cfg.warnings };
}

/** Resolves a destination through the user's SSH config into the hops the data plane connects. */
export function resolveHops(spec: Pick<TunnelSpec, 'destination' | 'sshConfigFile' | 'ssh'>, home = os.homedir(), localUser = os.userInfo().username): SshHop[] {
  const file = spec.sshConfigFile ?? path.join(home, '.ssh', 'config');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // No config file: the destination is taken literally.
  }
  try {
    const host = parseDestination(spec.destination)?.host ?? spec.destination;
    return resolveChain(withOptions(parseSshConfig(text), host, spec.ssh), spec.destination, { home, localUser });
  } catch (e) {
    throw new DevlaneError('invalid-input', `Cannot resolve the SSH destination "${spec.destination}": ${e instanceof Error ? e.message : String(e)}. Use an alias from ~/.ssh/config or user@host[:port].`, { cause: e });
  }
}

const sessionState: Record<TunnelStateEvent['state'], SessionStatus['state']> = {
  connecting: 'starting',
  on: 'running',
  degraded: 'degraded',
  error: 'failed',
  off: 'stopped',
};

/**
 * One tunnel as a session: owned by the registry, shown in the status bar and the Tunnels view,
 * ended (in the data plane too) by dispose().
 */
export class TunnelSession implements Session {
  readonly kind = 'tunnel' as const;
  private readonly statusEmitter = new Emitter<SessionStatus>();
  readonly onDidChangeStatus = this.statusEmitter.event;
  private readonly subs: Disposable[] = [];
  private ended = false;
  tunnel: TunnelStateEvent;
  totals: TunnelTotals = { opened: 0, live: 0, bytesUp: 0, bytesDown: 0 };
  socksPort = 0;
  httpPort: number | undefined;
  /** Reverse forwards (bastion) and agent listeners, with where the cluster reaches them. */
  forwards: ForwardInfo[] = [];
  target = '';
  /** Which transport carries the tunnel (an older data plane does not say: SSH). */
  transport: 'ssh' | 'agent' = 'ssh';
  /** What the proxies require, when they were started with credentials (asked back from the data plane on re-attach). */
  socksCredentials: SocksCredentials | undefined;

  constructor(
    readonly id: string,
    readonly label: string,
    private readonly client: DataPlaneClient,
  ) {
    this.tunnel = { id, state: 'connecting' };
    this.subs.push(
      client.onEvent((e) => {
        if (e.name === 'tunnel.state' && e.data.id === id) this.update(e.data);
        else if (e.name === 'tunnel.totals' && e.data.id === id) {
          this.totals = e.data.totals;
          this.statusEmitter.fire(this.status);
        }
      }),
      client.onLost(() => {
        if (!this.ended) this.update({ id, state: 'error', error: { reason: 'tunnel-down', message: 'The tunnel service stopped unexpectedly. Connect again to start a fresh one.' } });
      }),
    );
  }

  get status(): SessionStatus {
    const t = this.tunnel;
    const detail =
      t.state === 'on'
        ? `${this.totals.live} connection${this.totals.live === 1 ? '' : 's'}${t.rttMs !== undefined ? ` · ${t.rttMs} ms` : ''}`
        : t.state === 'error'
          ? t.error?.message ?? 'error'
          : t.detail ?? t.state;
    return { state: sessionState[t.state], detail };
  }

  /** Applies what the data plane reported when it started (or on re-attach). */
  apply(info: TunnelInfo): void {
    this.socksPort = info.socksPort;
    this.httpPort = info.httpPort;
    this.forwards = [...info.forwards];
    this.totals = info.totals;
    this.target = info.target;
    this.transport = info.transport ?? 'ssh';
    this.update(info.state);
  }

  /**
   * After a re-attach: the credentials the proxies enforce, asked from the data plane that holds
   * them. Not kept in SecretStorage instead: that would write them to disk for the tunnel's life
   * and leave them there after a crash, while the data plane has them in memory anyway and its
   * socket only opens to this user (a 0700 directory), the same boundary that protects the tunnel.
   */
  async recallCredentials(): Promise<void> {
    this.socksCredentials = (await this.client.request('tunnel.credentials', { id: this.id })) ?? undefined;
  }

  /** A listener on the bastion or in the agent pod reaching `localHost:localPort`; `service` (agent only) puts a Kubernetes Service in front of it. */
  async addReverseForward(f: ForwardRequest): Promise<ForwardInfo> {
    const added = await this.client.request('tunnel.addReverseForward', { id: this.id, ...f });
    this.forwards.push(added);
    this.statusEmitter.fire(this.status);
    return added;
  }

  /**
   * A Kubernetes Service in front of a listener in the agent pod. A Service selects pods, so only
   * the agent transport can have one; on an SSH tunnel this refuses before asking anything.
   */
  async exposeService(localPort: number, service: { name: string; port: number }, localHost = '127.0.0.1'): Promise<ForwardInfo> {
    if (this.transport !== 'agent') throw serviceNeedsAgent();
    return this.addReverseForward({ bindAddress: '0.0.0.0', bindPort: 0, localHost, localPort, service });
  }

  /** How registry calls reach the cluster: through this tunnel's SOCKS proxy, with its credentials. */
  registryRoute(): RegistryRoute {
    return { kind: 'socks', port: this.socksPort, ...(this.socksCredentials ? { credentials: this.socksCredentials } : {}) };
  }

  async removeReverseForward(bindAddress: string, bindPort: number): Promise<void> {
    await this.client.request('tunnel.removeReverseForward', { id: this.id, bindAddress, bindPort });
    this.forwards = this.forwards.filter((f) => !(f.bindAddress === bindAddress && f.bindPort === bindPort));
    this.statusEmitter.fire(this.status);
  }

  connections(): Promise<{ live: ConnectionStats[]; recent: ConnectionStats[] }> {
    return this.client.request('tunnel.connections', { id: this.id });
  }

  async dispose(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      if (this.client.connected) await this.client.request('tunnel.stop', { id: this.id }, 10_000);
    } finally {
      this.update({ id: this.id, state: 'off' });
      for (const s of this.subs.splice(0)) s.dispose();
      this.statusEmitter.dispose();
    }
  }

  private update(s: TunnelStateEvent): void {
    this.tunnel = s;
    this.statusEmitter.fire(this.status);
  }
}

/** Why a Service cannot lead to this machine over an SSH tunnel, and the way out. */
export function serviceNeedsAgent(): DevlaneError {
  return new DevlaneError(
    'invalid-input',
    'A Kubernetes Service can only send traffic to a pod, and this tunnel goes through an SSH bastion, which is not a pod. Connect through the in-cluster agent (it runs a pod the Service selects), or use a reverse forward on the bastion instead.',
    { actions: [{ title: 'Connect through the In-Cluster Agent', command: 'devlane.tunnel.connectAgent' }, { title: 'Add Reverse Forward', command: 'devlane.tunnel.addReverseForward' }] },
  );
}

/** Starts a tunnel in the data plane and returns its session, or throws the DevlaneError of the failure. */
export async function startTunnel(client: DataPlaneClient, id: string, spec: TunnelSpec): Promise<TunnelSession> {
  const hops = spec.agent ? [] : resolveHops(spec);
  const home = os.homedir();
  const credentials = spec.socksCredentials ?? (spec.proxyAuth ? newProxyCredentials() : undefined);
  const params: StartTunnelParams = {
    id,
    hops,
    ...(spec.agent ? { agent: spec.agent } : {}),
    knownHostsFiles: spec.knownHostsFiles ?? [path.join(home, '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'],
    ...(spec.hashKnownHosts !== undefined ? { hashKnownHosts: spec.hashKnownHosts } : {}),
    ...(spec.agentSocket ? { agentSocket: spec.agentSocket } : {}),
    socks: { port: spec.socksPort, ...(credentials ? { username: credentials.username, password: credentials.password } : {}) },
    ...(spec.httpPort !== undefined ? { http: { port: spec.httpPort } } : {}),
    ...(spec.keepaliveIntervalMs ? { keepaliveIntervalMs: spec.keepaliveIntervalMs } : {}),
    ...(spec.keepaliveCountMax ? { keepaliveCountMax: spec.keepaliveCountMax } : {}),
    ...(spec.probeIntervalMs ? { probeIntervalMs: spec.probeIntervalMs } : {}),
    ...(spec.degradedAfterMs ? { degradedAfterMs: spec.degradedAfterMs } : {}),
  };
  const last = hops[hops.length - 1];
  const where = !last || spec.destination === last.hostName ? spec.destination : `${spec.destination} (${last.hostName})`;
  const label = spec.label ? `${spec.label}: ${where}` : where;
  const session = new TunnelSession(id, label, client);
  session.socksCredentials = credentials;
  try {
    // Long: the user may be answering a host-key or password question meanwhile.
    session.apply(await client.request('tunnel.start', params, 15 * 60_000));
  } catch (e) {
    await session.dispose().catch(() => undefined);
    throw e;
  }
  return session;
}
