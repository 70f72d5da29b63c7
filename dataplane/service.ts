import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { DevlaneError } from '../extension/core/errors';
import type { Logger } from '../extension/core/log';
import { PROTOCOL_VERSION, type ControllerMethods, type DataPlaneEvents, type DataPlaneMethods, type ForwardInfo, type ForwardRequest, type Hello, type StartTunnelParams, type TunnelInfo, type TunnelTotals } from './ipc/protocol';
import { RpcPeer } from './ipc/rpc';
import { ConnectionTable } from './proxy/connections';
import { ProxyServer } from './proxy/proxyServer';
import type { AgentTransport } from './agent/transport';
import type { Dialer } from './proxy/proxyServer';
import { SshTransport, type ReverseForward, type TransportState } from './ssh/transport';

/** What a tunnel needs from its transport (SSH through a bastion, or the in-cluster agent). */
interface Transport {
  readonly state: TransportState;
  readonly onState: SshTransport['onState'];
  readonly reverseForwards: readonly ForwardInfo[];
  readonly dial: Dialer;
  start(): Promise<void>;
  stop(): Promise<void>;
  addReverseForward(f: ForwardRequest): Promise<ForwardInfo>;
  removeReverseForward(bindAddress: string, bindPort: number): Promise<void>;
}

interface Tunnel {
  readonly params: StartTunnelParams;
  readonly transport: Transport;
  readonly table: ConnectionTable;
  readonly socks: ProxyServer;
  readonly http?: ProxyServer;
  lastTotals?: string;
}

export interface ServiceOptions {
  readonly socketPath: string;
  /** How long the service waits for a controller (at start, or after one left) before it exits. */
  readonly graceMs: number;
  readonly log: Logger;
  readonly onExit: () => void;
}

/**
 * The data plane: listens for its controller on a local socket, runs tunnels on its behalf, and
 * ends itself (and everything it runs) when no controller has been attached for the grace period.
 * A newer controller replaces an older one, which is how a restarted extension host re-attaches.
 */
export class DataPlaneService {
  private readonly server: net.Server;
  private controller: RpcPeer | undefined;
  private readonly tunnels = new Map<string, Tunnel>();
  private graceTimer: NodeJS.Timeout | undefined;
  private totalsTimer: NodeJS.Timeout | undefined;
  private ending = false;

  constructor(private readonly opts: ServiceOptions) {
    this.server = net.createServer((s) => this.attach(s));
  }

  readonly log: Logger = {
    trace: () => {},
    debug: (m) => this.emitLog('debug', m),
    info: (m) => this.emitLog('info', m),
    warn: (m) => this.emitLog('warn', m),
    error: (m) => this.emitLog('error', m instanceof Error ? m.message : m),
  };

  async listen(): Promise<void> {
    if (process.platform !== 'win32') fs.rmSync(this.opts.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    if (process.platform !== 'win32') fs.chmodSync(this.opts.socketPath, 0o600);
    this.armGrace();
    this.totalsTimer = setInterval(() => this.pushTotals(), 1_000);
  }

  async shutdown(): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    clearTimeout(this.graceTimer);
    clearInterval(this.totalsTimer);
    await Promise.all([...this.tunnels.keys()].map((id) => this.stopTunnel(id)));
    this.controller?.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (process.platform !== 'win32') fs.rmSync(this.opts.socketPath, { force: true });
    this.opts.onExit();
  }

  private emitLog(level: DataPlaneEvents['log']['level'], message: string): void {
    this.opts.log[level](message);
    if (this.controller && !this.controller.isClosed) this.controller.notify('log', { level, message } satisfies DataPlaneEvents['log']);
  }

  private armGrace(): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => {
      this.opts.log.info(`no controller for ${this.opts.graceMs} ms: exiting`);
      void this.shutdown();
    }, this.opts.graceMs);
  }

  private attach(socket: net.Socket): void {
    const peer = new RpcPeer(socket);
    const previous = this.controller;
    this.controller = peer;
    clearTimeout(this.graceTimer);
    previous?.close();
    peer.onClose(() => {
      if (this.controller !== peer) return;
      this.controller = undefined;
      if (!this.ending) this.armGrace();
    });
    const on = <K extends keyof DataPlaneMethods>(m: K, h: (p: DataPlaneMethods[K]['params']) => Promise<DataPlaneMethods[K]['result']> | DataPlaneMethods[K]['result']) =>
      peer.handle(m, (p) => h(p as DataPlaneMethods[K]['params']));
    on('hello', (): Hello => ({ pid: process.pid, version: PROTOCOL_VERSION, tunnels: [...this.tunnels.keys()].map((id) => this.info(id)) }));
    on('tunnel.start', (p) => this.startTunnel(p));
    on('tunnel.stop', async (p) => {
      await this.stopTunnel(p.id);
      return null;
    });
    on('tunnel.addReverseForward', (p) => {
      const { id, ...f } = p;
      const t = this.get(id);
      if (f.service && !t.params.agent) throw new DevlaneError('invalid-input', 'A Kubernetes Service can only lead to your machine through the in-cluster agent. Connect the tunnel with "In-cluster agent (no bastion)" and expose the port again.');
      return t.transport.addReverseForward(f);
    });
    on('tunnel.removeReverseForward', async (p) => {
      await this.get(p.id).transport.removeReverseForward(p.bindAddress, p.bindPort);
      return null;
    });
    on('tunnel.connections', (p) => this.get(p.id).table.list());
    on('tunnel.credentials', (p) => {
      const { username, password } = this.get(p.id).params.socks;
      return username !== undefined && password !== undefined ? { username, password } : null;
    });
    on('shutdown', () => {
      setImmediate(() => void this.shutdown());
      return null;
    });
  }

  private ask<K extends keyof ControllerMethods>(m: K, params: ControllerMethods[K]['params']): Promise<ControllerMethods[K]['result']> {
    const c = this.controller;
    if (!c) return Promise.reject(new DevlaneError('cancelled', 'No controller is attached to answer.'));
    return c.request<ControllerMethods[K]['result']>(m, params, 10 * 60_000);
  }

  private get(id: string): Tunnel {
    const t = this.tunnels.get(id);
    if (!t) throw new DevlaneError('not-found', `There is no tunnel "${id}".`);
    return t;
  }

  private totals(t: Tunnel): TunnelTotals {
    return t.table.totals();
  }

  private info(id: string): TunnelInfo {
    const t = this.get(id);
    const s = t.transport.state;
    const last = t.params.hops[t.params.hops.length - 1];
    return {
      id,
      target: t.params.agent ? `agent in ${t.params.agent.namespace}` : last ? `${last.user}@${last.hostName}:${last.port}` : '',
      socksPort: t.socks.port,
      ...(t.http ? { httpPort: t.http.port } : {}),
      state: { id, ...s },
      forwards: [...t.transport.reverseForwards],
      totals: this.totals(t),
      transport: t.params.agent ? 'agent' : 'ssh',
    };
  }

  private pushTotals(): void {
    const c = this.controller;
    if (!c || c.isClosed) return;
    for (const [id, t] of this.tunnels) {
      const totals = this.totals(t);
      const key = JSON.stringify(totals);
      if (key === t.lastTotals) continue;
      t.lastTotals = key;
      c.notify('tunnel.totals', { id, totals } satisfies DataPlaneEvents['tunnel.totals']);
    }
  }

  private async startTunnel(p: StartTunnelParams): Promise<TunnelInfo> {
    if (this.tunnels.has(p.id)) return this.info(p.id);
    const log = this.log;
    const table = new ConnectionTable();
    const transport: Transport = p.agent ? this.agentTransport(p) : new SshTransport({
      hops: p.hops,
      knownHostsFiles: p.knownHostsFiles,
      ...(p.hashKnownHosts !== undefined ? { hashKnownHosts: p.hashKnownHosts } : {}),
      ...(p.agentSocket ? { agentSocket: p.agentSocket } : {}),
      ...(p.keepaliveIntervalMs ? { keepaliveIntervalMs: p.keepaliveIntervalMs } : {}),
      ...(p.keepaliveCountMax ? { keepaliveCountMax: p.keepaliveCountMax } : {}),
      ...(p.probeIntervalMs ? { probeIntervalMs: p.probeIntervalMs } : {}),
      ...(p.degradedAfterMs ? { degradedAfterMs: p.degradedAfterMs } : {}),
      ...(p.ciphers ? { ciphers: p.ciphers } : {}),
      log,
      questions: {
        hostKey: (q) => this.ask('ask.hostKey', { id: p.id, ...q }),
        secret: async (q) => (await this.ask('ask.secret', { id: p.id, ...q })) ?? undefined,
      },
    });
    const creds = p.socks.username !== undefined && p.socks.password !== undefined ? { username: p.socks.username, password: p.socks.password } : undefined;
    const socks = new ProxyServer({ protocol: 'socks5', port: p.socks.port, dial: transport.dial, table, log, ...(creds ? { credentials: creds } : {}) });
    const http = p.http ? new ProxyServer({ protocol: 'http', port: p.http.port, dial: transport.dial, table, log, ...(creds ? { credentials: creds } : {}) }) : undefined;
    const opened: ProxyServer[] = [];
    try {
      // Ports first: a taken port is reported before anything is dialled.
      await socks.listen();
      opened.push(socks);
      if (http) {
        await http.listen();
        opened.push(http);
      }
      transport.onState((s) => this.controller?.notify('tunnel.state', { id: p.id, ...s } satisfies DataPlaneEvents['tunnel.state']));
      await transport.start();
    } catch (e) {
      await Promise.all(opened.map((s) => s.close()));
      await transport.stop();
      throw e;
    }
    this.tunnels.set(p.id, { params: p, transport, table, socks, ...(http ? { http } : {}) });
    log.info(`tunnel ${p.id} on: SOCKS 127.0.0.1:${socks.port}${http ? `, HTTP 127.0.0.1:${http.port}` : ''}`);
    return this.info(p.id);
  }

  private agentTransport(p: StartTunnelParams): AgentTransport {
    const a = p.agent!;
    const { AgentTransport } = loadAgentTransport();
    let script: string;
    try {
      script = fs.readFileSync(a.scriptPath, 'utf8');
    } catch (e) {
      throw new DevlaneError('artifact-missing', `The tunnel agent script ${a.scriptPath} is missing; rebuild Devlane (npm run build).`, { cause: e });
    }
    return new AgentTransport({
      id: p.id,
      kubeconfig: a.kubeconfig,
      ...(a.context ? { context: a.context } : {}),
      namespace: a.namespace,
      script,
      ...(a.image ? { image: a.image } : {}),
      ...(a.ttlSeconds ? { ttlSeconds: a.ttlSeconds } : {}),
      owner: a.owner,
      ...(p.degradedAfterMs ? { degradedAfterMs: p.degradedAfterMs } : {}),
      log: this.log,
    });
  }

  private async stopTunnel(id: string): Promise<void> {
    const t = this.tunnels.get(id);
    if (!t) return;
    this.tunnels.delete(id);
    await Promise.all([t.socks.close(), t.http?.close()]);
    await t.transport.stop();
  }
}

export type { ReverseForward };

/**
 * The agent transport lives in its own bundle (dist/dataplane-agent.js): it pulls in the Kubernetes
 * client, which costs every data plane ~11 MB of memory when bundled in (measured), and SSH-only
 * users never need it. Run from source, the module is loaded directly.
 */
function loadAgentTransport(): typeof import('./agent/transport') {
  const bundled = path.join(__dirname, 'dataplane-agent.js');
  const file = fs.existsSync(bundled) ? bundled : path.join(__dirname, 'agent', 'transport');
  try {
    // A computed path through createRequire, so the bundler leaves the module out of dataplane.js.
    return createRequire(__filename)(file) as typeof import('./agent/transport');
  } catch (e) {
    throw new DevlaneError('artifact-missing', `The in-cluster agent transport (${bundled}) is missing from this Devlane build; rebuild Devlane (npm run build).`, { cause: e });
  }
}
