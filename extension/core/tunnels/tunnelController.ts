import * as crypto from 'node:crypto';
import { DevlaneError, toDevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';
import type { SessionRegistry } from '../sessions/registry';
import { DataPlaneClient, type DataPlaneOptions } from './dataPlane';
import type { ProxyEndpoints } from './proxyEnv';
import { startTunnel, TunnelSession, type TunnelSpec } from './tunnelSession';

export type TunnelUiState = 'off' | 'connecting' | 'on' | 'degraded' | 'error';

/**
 * The one tunnel the status bar toggles: owns the data-plane client, puts the live tunnel in the
 * session registry, and says what to show. No VS Code API here; the status item and the Tunnels
 * view only render it.
 */
export class TunnelController implements Disposable {
  private readonly changes = new Emitter<void>();
  readonly onDidChange = this.changes.event;
  private readonly client: DataPlaneClient;
  private current: TunnelSession | undefined;
  private sub: Disposable | undefined;
  private pending: Promise<TunnelSession> | undefined;
  private stopping: Promise<void> | undefined;
  private failure: DevlaneError | undefined;
  private readonly clientSubs: Disposable[] = [];
  /** Things that live as long as the current tunnel (what devlane.yaml declares for it). */
  private companions: Disposable[] = [];

  constructor(
    dataPlane: DataPlaneOptions,
    private readonly registry: SessionRegistry,
    private readonly log: Logger,
  ) {
    this.client = new DataPlaneClient(dataPlane);
    this.clientSubs.push(
      this.client.onEvent((e) => {
        if (e.name === 'log') this.log[e.data.level](`[dataplane] ${e.data.message}`);
      }),
    );
  }

  get session(): TunnelSession | undefined {
    return this.current;
  }

  /** The data-plane process id while attached (shown in the log; used by tests to check it ends). */
  get processId(): number | undefined {
    return this.client.pid;
  }

  get lastError(): DevlaneError | undefined {
    return this.failure;
  }

  get state(): TunnelUiState {
    if (this.pending) return 'connecting';
    if (!this.current) return this.failure ? 'error' : 'off';
    const s = this.current.tunnel.state;
    return s === 'off' ? 'off' : s;
  }

  /** Where programs should send traffic while the tunnel is usable; undefined otherwise. */
  get endpoints(): ProxyEndpoints | undefined {
    const s = this.current;
    if (!s || (this.state !== 'on' && this.state !== 'degraded')) return undefined;
    return { socksPort: s.socksPort, ...(s.httpPort !== undefined ? { httpPort: s.httpPort } : {}), ...(s.socksCredentials ? { credentials: s.socksCredentials } : {}) };
  }

  /** Picks up a tunnel a previous extension host left running (no process is started). */
  async reattach(): Promise<void> {
    const hello = await this.client.attachExisting().catch((e: unknown) => {
      this.log.debug(`no tunnel service to re-attach: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    const info = hello?.tunnels[0];
    if (hello && !info && !this.current && !this.pending) {
      // A service with no tunnel has nothing to keep alive: end it rather than leave it idling.
      await this.stopService();
      return;
    }
    if (!info || this.current) return;
    const session = new TunnelSession(info.id, info.target, this.client);
    session.apply(info);
    // Still adopted when this fails: the tunnel keeps running and can be disconnected from here.
    await session.recallCredentials().catch((e: unknown) => this.log.warn(`could not ask the tunnel service for the proxy credentials: ${e instanceof Error ? e.message : String(e)}`));
    this.adopt(session);
    this.log.info(`re-attached to tunnel ${info.target} in tunnel service pid ${hello.pid}; ${authNote(session)}`);
  }

  connect(spec: TunnelSpec): Promise<TunnelSession> {
    if (this.current) return Promise.resolve(this.current);
    if (this.pending) return this.pending;
    this.failure = undefined;
    const id = `tunnel-${crypto.randomBytes(4).toString('hex')}`;
    const p = (async () => {
      try {
        await this.stopping;
        await this.client.connect();
        const session = await startTunnel(this.client, id, spec);
        this.adopt(session);
        this.log.info(`tunnel ${session.label} on: SOCKS 127.0.0.1:${session.socksPort}${session.httpPort !== undefined ? `, HTTP 127.0.0.1:${session.httpPort}` : ''}; ${authNote(session)}`);
        return session;
      } catch (e) {
        this.failure = toDevlaneError(e, 'tunnel-down');
        // A failed start leaves the process with no tunnel: nothing may stay running after an error.
        if (!this.current) await this.stopService().catch(() => undefined);
        throw this.failure;
      }
    })();
    this.pending = p;
    this.changes.fire();
    p.finally(() => {
      this.pending = undefined;
      this.changes.fire();
    }).catch(() => undefined);
    return p;
  }

  async disconnect(): Promise<void> {
    const s = this.current;
    this.failure = undefined;
    if (!s) {
      this.changes.fire();
      return;
    }
    this.release();
    await this.registry.end(s.id);
    // The controller runs one tunnel: once it is off, the process ends too (the next connect starts a fresh one).
    if (!this.pending) await this.stopService().catch(() => undefined);
    this.changes.fire();
  }

  /** Ties `d` to the current tunnel: disposed when it goes (disconnect, failure, shutdown); at once when there is none. */
  own<T extends Disposable>(d: T): T {
    if (this.current) this.companions.push(d);
    else d.dispose();
    return d;
  }

  /** Stops the tunnel and the data-plane process (deactivation). */
  async shutdown(): Promise<void> {
    await this.disconnect();
    await this.client.shutdown();
  }

  dispose(): void {
    this.release();
    for (const d of this.clientSubs.splice(0)) d.dispose();
    this.client.dispose();
    this.changes.dispose();
  }

  private stopService(): Promise<void> {
    if (this.stopping) return this.stopping;
    const p = this.client.shutdown().finally(() => {
      if (this.stopping === p) this.stopping = undefined;
    });
    this.stopping = p;
    return p;
  }

  private adopt(session: TunnelSession): void {
    this.current = session;
    this.registry.add(session);
    this.sub = session.onDidChangeStatus(() => this.changes.fire());
    this.changes.fire();
  }

  private release(): void {
    for (const d of this.companions.splice(0)) d.dispose();
    this.sub?.dispose();
    this.sub = undefined;
    this.current = undefined;
  }
}

/** Whether the proxies ask for credentials, for the log: never the credentials themselves. */
function authNote(s: TunnelSession): string {
  return `proxy authentication ${s.socksCredentials ? 'on' : 'off'}`;
}
