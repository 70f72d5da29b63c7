import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { CoreV1Api, KubeConfig, PortForward, type V1Pod } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { DevlaneError } from '../../extension/core/errors';
import { Emitter } from '../../extension/core/events';
import type { Logger } from '../../extension/core/log';
import { formatTarget, type Target } from '../protocol/parse';
import { Reply } from '../protocol/socks5';
import { DialError } from '../proxy/proxyServer';
import type { ReverseForward, TransportState } from '../ssh/transport';
import { Mux } from './mux';

export interface AgentTransportOptions {
  readonly id: string;
  readonly kubeconfig: string;
  readonly context?: string;
  readonly namespace: string;
  /** The bundled agent script (dist/tunnel-agent.js), shipped to the pod in a ConfigMap. */
  readonly script: string;
  readonly image?: string;
  readonly ttlSeconds?: number;
  /** Who owns the pod (label), so cleanup never touches someone else's agent. */
  readonly owner: string;
  readonly startTimeoutMs?: number;
  readonly heartbeatMs?: number;
  readonly degradedAfterMs?: number;
  readonly log: Logger;
}

const AGENT_PORT = 7070;

/**
 * The transport without a bastion: a small agent pod (stock Node image, Devlane's script from a
 * ConfigMap) reached through Kubernetes port-forward, carrying every connection over one WebSocket.
 * Heartbeats keep the agent alive; when they stop it exits after its TTL.
 */
export class AgentTransport {
  private readonly states = new Emitter<TransportState>();
  readonly onState = this.states.event;
  private current: TransportState = { state: 'off' };
  private readonly kc = new KubeConfig();
  private readonly core: CoreV1Api;
  private readonly name: string;
  private forwarder: net.Server | undefined;
  private readonly forwarded = new Set<net.Socket>();
  private ws: WebSocket | undefined;
  private mux: Mux | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private attempt = 0;
  readonly reverseForwards: readonly ReverseForward[] = [];

  constructor(private readonly opts: AgentTransportOptions) {
    this.kc.loadFromFile(opts.kubeconfig);
    if (opts.context) this.kc.setCurrentContext(opts.context);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.name = `devlane-agent-${opts.id.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 63).replace(/-+$/, '');
  }

  get state(): TransportState {
    return this.current;
  }

  get podName(): string {
    return this.name;
  }

  async start(): Promise<void> {
    this.set({ state: 'connecting', detail: `starting agent pod ${this.opts.namespace}/${this.name}` });
    try {
      await this.createAgent();
      await this.waitRunning();
      await this.startForwarder();
      await this.connectWithRetries(this.opts.startTimeoutMs ?? 120_000);
    } catch (e) {
      const err = e instanceof DevlaneError ? e : new DevlaneError('tunnel-down', `The tunnel agent did not come up: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      this.set({ state: 'error', error: { reason: err.reason, message: err.message } });
      await this.cleanup();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.cleanup();
    this.set({ state: 'off' });
    this.states.dispose();
  }

  readonly dial = async (target: Target): Promise<Duplex> => {
    const mux = this.mux;
    if (!mux) throw new DialError(`the tunnel is ${this.current.state}`, Reply.NetworkUnreachable);
    try {
      return await mux.open(target);
    } catch (e) {
      throw new DialError(`${formatTarget(target)}: ${e instanceof Error ? e.message : String(e)}`, Reply.HostUnreachable);
    }
  };

  addReverseForward(_f: ReverseForward): Promise<ReverseForward> {
    return Promise.reject(new DevlaneError('invalid-input', 'Reverse forwards need an SSH bastion; the in-cluster agent does not listen for inbound traffic yet.'));
  }

  async removeReverseForward(_bindAddress: string, _bindPort: number): Promise<void> {}

  private set(s: TransportState): void {
    const prev = this.current;
    this.current = s;
    if (prev.state !== s.state || prev.rttMs !== s.rttMs || prev.detail !== s.detail) this.states.fire(s);
  }

  private async createAgent(): Promise<void> {
    const ns = this.opts.namespace;
    const labels = { 'app.kubernetes.io/managed-by': 'devlane', 'devlane.dev/component': 'tunnel-agent', 'devlane.dev/owner': this.opts.owner };
    await this.removeExpired(ns);
    await this.core.deleteNamespacedPod({ name: this.name, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    await this.core.deleteNamespacedConfigMap({ name: this.name, namespace: ns }).catch(() => undefined);
    await this.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: this.name, labels }, data: { 'agent.js': this.opts.script } } });
    try {
      await this.core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: this.name, labels },
          spec: {
            restartPolicy: 'Never',
            terminationGracePeriodSeconds: 0,
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'agent',
                image: this.opts.image ?? 'node:20-alpine',
                command: ['node', '/devlane/agent.js'],
                env: [
                  { name: 'PORT', value: String(AGENT_PORT) },
                  { name: 'DEVLANE_TTL_SECONDS', value: String(this.opts.ttlSeconds ?? 120) },
                ],
                ports: [{ name: 'tunnel', containerPort: AGENT_PORT }],
                volumeMounts: [{ name: 'agent', mountPath: '/devlane', readOnly: true }],
                resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
              },
            ],
            volumes: [{ name: 'agent', configMap: { name: this.name } }],
          },
        },
      });
    } catch (e) {
      const code = (e as { code?: number }).code;
      const reason = code === 403 ? 'rbac-forbidden' : 'internal';
      throw new DevlaneError(reason, `Could not create the tunnel agent pod in ${ns} (${code ?? (e as Error).message}). Devlane needs create/delete on pods and configmaps and create on pods/portforward there.`, { cause: e });
    }
  }

  /** Agents of this owner that ended after their TTL (a laptop that went away): removed, with their ConfigMaps. Others' agents are never touched. */
  private async removeExpired(ns: string): Promise<void> {
    const selector = `devlane.dev/component=tunnel-agent,devlane.dev/owner=${this.opts.owner}`;
    const pods = await this.core.listNamespacedPod({ namespace: ns, labelSelector: selector }).catch(() => undefined);
    for (const p of pods?.items ?? []) {
      const name = p.metadata?.name;
      if (!name || (p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')) continue;
      this.opts.log.info(`removing expired tunnel agent ${ns}/${name}`);
      await this.core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
      await this.core.deleteNamespacedConfigMap({ name, namespace: ns }).catch(() => undefined);
    }
  }

  private async waitRunning(): Promise<V1Pod> {
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 120_000);
    for (;;) {
      const pod = await this.core.readNamespacedPod({ name: this.name, namespace: this.opts.namespace });
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason === 'ErrImagePull' || waiting?.reason === 'ImagePullBackOff' || waiting?.reason === 'InvalidImageName') {
        throw new DevlaneError('image-pull', `The tunnel agent image ${this.opts.image ?? 'node:20-alpine'} cannot be pulled in the cluster (${waiting.reason}: ${waiting.message ?? ''}). Set an image the cluster can pull (a mirror of node:20-alpine).`);
      }
      if (pod.status?.phase === 'Running') return pod;
      if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') throw new DevlaneError('tunnel-down', `The tunnel agent pod ended (${pod.status.phase}) before it could be used; see its logs.`);
      if (Date.now() > deadline) throw new DevlaneError('timeout', `The tunnel agent pod ${this.name} was not running after ${Math.round((this.opts.startTimeoutMs ?? 120_000) / 1000)} s (phase ${pod.status?.phase ?? 'unknown'}).`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** A loopback listener whose connections port-forward to the agent (one websocket each, as client-node works). */
  private async startForwarder(): Promise<void> {
    const pf = new PortForward(this.kc);
    const server = net.createServer((socket) => {
      this.forwarded.add(socket);
      socket.on('close', () => this.forwarded.delete(socket));
      socket.on('error', () => socket.destroy());
      pf.portForward(this.opts.namespace, this.name, [AGENT_PORT], socket, null, socket).then(
        (ws) => {
          const w = ws as unknown as { on(ev: string, l: () => void): void; close(): void };
          w.on('close', () => socket.destroy());
          w.on('error', () => socket.destroy());
          socket.on('close', () => w.close());
        },
        () => socket.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.forwarder = server;
  }

  private connectOnce(): Promise<void> {
    const port = (this.forwarder!.address() as net.AddressInfo).port;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, handshakeTimeout: 15_000 });
      ws.binaryType = 'nodebuffer';
      let opened = false;
      ws.on('open', () => {
        opened = true;
        this.ws = ws;
        const mux = new Mux((f) => {
          if (ws.readyState === ws.OPEN) ws.send(f);
        });
        this.mux = mux;
        ws.on('message', (d: Buffer) => {
          if (!mux.receive(d)) ws.terminate();
        });
        this.startHeartbeat(ws);
        this.attempt = 0;
        this.set({ state: 'on', detail: `agent ${this.opts.namespace}/${this.name}` });
        resolve();
      });
      ws.on('error', (e) => {
        if (!opened) reject(e);
      });
      ws.on('close', () => {
        if (!opened) return reject(new Error('agent connection closed during the handshake'));
        this.lost(ws);
      });
    });
  }

  private async connectWithRetries(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.connectOnce();
      } catch (e) {
        // The container may still be starting node; port-forward refuses until it listens.
        if (Date.now() > deadline || this.stopped) throw new DevlaneError('tunnel-down', `Could not reach the tunnel agent through port-forward: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private startHeartbeat(ws: WebSocket): void {
    clearInterval(this.heartbeat);
    let sentAt: number | undefined;
    ws.on('pong', () => {
      if (sentAt === undefined) return;
      const rtt = Date.now() - sentAt;
      sentAt = undefined;
      this.set({ state: 'on', rttMs: rtt, detail: `agent ${this.opts.namespace}/${this.name}` });
    });
    const tick = () => {
      if (this.ws !== ws) return;
      if (sentAt !== undefined) {
        if (Date.now() - sentAt > (this.opts.degradedAfterMs ?? 10_000)) this.set({ state: 'degraded', detail: 'no answer from the agent' });
        return;
      }
      sentAt = Date.now();
      ws.ping();
    };
    tick();
    this.heartbeat = setInterval(tick, this.opts.heartbeatMs ?? 5_000);
  }

  private lost(ws: WebSocket): void {
    if (this.ws !== ws || this.stopped) return;
    this.ws = undefined;
    this.mux?.close();
    this.mux = undefined;
    clearInterval(this.heartbeat);
    this.set({ state: 'degraded', detail: 'agent connection lost; reconnecting' });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = Math.min(4_000, 250 * 2 ** Math.min(this.attempt++, 8));
    this.retry = setTimeout(() => {
      this.connectOnce().catch(() => this.scheduleReconnect());
    }, delay);
  }

  private async cleanup(): Promise<void> {
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    const ws = this.ws;
    this.ws = undefined;
    this.mux?.close();
    this.mux = undefined;
    ws?.terminate();
    for (const s of this.forwarded) s.destroy();
    await new Promise<void>((r) => (this.forwarder ? this.forwarder.close(() => r()) : r()));
    this.forwarder = undefined;
    const ns = this.opts.namespace;
    await this.core.deleteNamespacedPod({ name: this.name, namespace: ns, gracePeriodSeconds: 0 }).catch(() => undefined);
    await this.core.deleteNamespacedConfigMap({ name: this.name, namespace: ns }).catch(() => undefined);
  }
}
