import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROTOCOL_VERSION, type ControllerMethods, type DataPlaneEvents, type DataPlaneMethods, type Hello } from '../../../dataplane/ipc/protocol';
import { RpcPeer } from '../../../dataplane/ipc/rpc';
import { DevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';

export interface DataPlaneOptions {
  /** How to run the data plane, e.g. [process.execPath, '<ext>/dist/dataplane.js']. */
  readonly command: readonly string[];
  /** A private (0700) directory for the socket and the process log. */
  readonly runtimeDir: string;
  /** Distinguishes windows/workspaces sharing a runtime directory. */
  readonly instance: string;
  readonly graceMs?: number;
  readonly startTimeoutMs?: number;
  readonly log: Logger;
  readonly answers: {
    hostKey(q: ControllerMethods['ask.hostKey']['params']): Promise<boolean>;
    secret(q: ControllerMethods['ask.secret']['params']): Promise<string | undefined>;
  };
  /** Extra environment for the process (tests pass their own). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * V8 flags for the data-plane process (placed before its script; see spawnProcess). `runtime`
 * describes the binary it runs on, known only when that is the binary we run on ourselves.
 *
 * The data plane frees written packets with ArrayBuffer.prototype.transfer (dataplane/proxy/
 * chunkRelease.ts). VS Code's Electron has it; Node 20 (V8 11.3: code-server, the tests) only
 * behind a flag that other V8 versions reject at start-up, so the flag goes to exactly that one.
 */
export function dataPlaneNodeFlags(runtime: { v8: string; hasTransfer: boolean } | undefined): string[] {
  // A 1 MiB young generation (V8 lets it grow to 16 MiB): ssh2's JS cipher path makes short-lived
  // objects for every packet, and at full speed V8 grows the young generation to its maximum
  // and keeps it. Measured after 3 GiB through the tunnel: V8 heap 46 → 19 MB.
  const flags = ['--max-semi-space-size=1'];
  if (runtime && !runtime.hasTransfer && runtime.v8.startsWith('11.3.')) flags.push('--harmony-rab-gsab-transfer');
  return flags;
}

const thisRuntime = () => ({ v8: process.versions.v8, hasTransfer: typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function' });

/** The default private runtime directory: per user, not readable by others. */
export function defaultRuntimeDir(): string {
  const base = process.env.XDG_RUNTIME_DIR ?? os.tmpdir();
  const uid = typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
  return path.join(base, `devlane-${uid}`);
}

export function socketPathFor(runtimeDir: string, instance: string): string {
  const tag = crypto.createHash('sha256').update(instance).digest('hex').slice(0, 16);
  if (process.platform === 'win32') return `\\\\.\\pipe\\devlane-dataplane-${tag}`;
  return path.join(runtimeDir, `dp-${tag}.sock`);
}

/**
 * The extension's handle on the data-plane process. `connect()` re-attaches to a process left by a
 * previous extension host (same socket) or starts a fresh one, detached so a crashing host does not
 * take the tunnels with it; the process ends itself when no controller returns within its grace
 * period, so nothing is orphaned either way.
 */
export class DataPlaneClient implements Disposable {
  private peer: RpcPeer | undefined;
  private connecting: Promise<Hello> | undefined;
  private readonly events = new Emitter<{ [K in keyof DataPlaneEvents]: { name: K; data: DataPlaneEvents[K] } }[keyof DataPlaneEvents]>();
  private readonly lost = new Emitter<void>();
  readonly onEvent = this.events.event;
  /** The socket closed unexpectedly (the process died or was replaced). */
  readonly onLost = this.lost.event;
  private disposed = false;
  pid: number | undefined;

  constructor(private readonly opts: DataPlaneOptions) {}

  get socketPath(): string {
    return socketPathFor(this.opts.runtimeDir, this.opts.instance);
  }

  get connected(): boolean {
    return this.peer !== undefined && !this.peer.isClosed;
  }

  connect(): Promise<Hello> {
    if (this.disposed) return Promise.reject(new DevlaneError('cancelled', 'The tunnel controller was disposed.'));
    if (this.connecting) return this.connecting;
    this.connecting = this.doConnect();
    this.connecting.catch(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Re-attaches to a data plane left running by a previous extension host; never starts one. */
  async attachExisting(): Promise<Hello | undefined> {
    if (this.connected) return this.connect();
    const socket = await this.tryOpen();
    if (!socket) return undefined;
    socket.destroy();
    return this.connect();
  }

  async request<K extends keyof DataPlaneMethods>(method: K, params: DataPlaneMethods[K]['params'], timeoutMs?: number): Promise<DataPlaneMethods[K]['result']> {
    await this.connect();
    return this.peer!.request<DataPlaneMethods[K]['result']>(method, params, timeoutMs);
  }

  /** Asks the process to stop every tunnel and exit. */
  async shutdown(): Promise<void> {
    if (!this.connected) return;
    const peer = this.peer!;
    const closed = new Promise<void>((resolve) => peer.onClose(resolve));
    await peer.request('shutdown', {}, 5_000).catch(() => undefined);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())]);
  }

  /** Lets go of the process without stopping it (it exits after its grace period unless re-attached). */
  dispose(): void {
    this.disposed = true;
    const p = this.peer;
    this.peer = undefined;
    p?.close();
    this.events.dispose();
    this.lost.dispose();
  }

  private async doConnect(): Promise<Hello> {
    this.ensurePrivateDir();
    let socket = await this.tryOpen();
    if (!socket) {
      this.spawnProcess();
      const deadline = Date.now() + (this.opts.startTimeoutMs ?? 15_000);
      while (!socket) {
        if (Date.now() > deadline) {
          throw new DevlaneError('internal', `The tunnel service did not start within ${Math.round((this.opts.startTimeoutMs ?? 15_000) / 1000)} s. See ${this.logFile} for its output.`, {
            actions: [{ title: 'Show Tunnel Log', command: 'devlane.tunnel.showLog' }],
          });
        }
        await new Promise((r) => setTimeout(r, 50));
        socket = await this.tryOpen();
      }
    }
    const peer = new RpcPeer(socket);
    this.peer = peer;
    peer.handle('ask.hostKey', (p) => this.opts.answers.hostKey(p as ControllerMethods['ask.hostKey']['params']));
    peer.handle('ask.secret', async (p) => (await this.opts.answers.secret(p as ControllerMethods['ask.secret']['params'])) ?? null);
    peer.onEvent((name, data) => this.events.fire({ name, data } as never));
    peer.onClose(() => {
      if (this.peer !== peer) return;
      this.peer = undefined;
      this.connecting = undefined;
      this.pid = undefined;
      if (!this.disposed) this.lost.fire();
    });
    const hello = await peer.request<Hello>('hello', { version: PROTOCOL_VERSION }, 10_000);
    if (hello.version !== PROTOCOL_VERSION) {
      // A process from another Devlane version: replace it rather than speak a protocol it does not know.
      await peer.request('shutdown', {}, 5_000).catch(() => undefined);
      peer.close();
      throw new DevlaneError('internal', 'A tunnel service from another Devlane version was running; it was stopped. Try again.');
    }
    this.pid = hello.pid;
    return hello;
  }

  /** Whoever can open the socket can use the tunnel and answer its questions: the directory must be ours alone. */
  private ensurePrivateDir(): void {
    const dir = this.opts.runtimeDir;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (process.platform === 'win32') return;
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
      throw new DevlaneError('internal', `The tunnel runtime directory ${dir} is not a private directory of yours (owner or permissions). Remove it or fix its permissions (chmod 700), then connect again.`);
    }
  }

  private get logFile(): string {
    return path.join(this.opts.runtimeDir, `${path.basename(this.socketPath)}.log`);
  }

  private tryOpen(): Promise<net.Socket | undefined> {
    return new Promise((resolve) => {
      const s = net.connect(this.socketPath);
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', () => {
        s.destroy();
        resolve(undefined);
      });
    });
  }

  private spawnProcess(): void {
    const [cmd, ...args] = this.opts.command;
    if (!cmd) throw new DevlaneError('internal', 'No command to start the tunnel service.');
    const out = fs.openSync(this.logFile, 'a', 0o600);
    try {
      const flags = dataPlaneNodeFlags(cmd === process.execPath ? thisRuntime() : undefined);
      const child = spawn(cmd, [...flags, ...args, '--socket', this.socketPath, '--grace-ms', String(this.opts.graceMs ?? 30_000)], {
        detached: true,
        stdio: ['ignore', out, out],
        // Inside VS Code, execPath is Electron: ELECTRON_RUN_AS_NODE makes it behave as plain Node.
        // A fixed mmap threshold above the ~32 KiB packet buffers ssh2's decipher allocates: glibc's
        // dynamic threshold would creep up and keep fragmented heap pages after a large transfer
        // (+35 MB RSS per 256 MiB, measured before reads went into one reused buffer), while a 32 KiB
        // threshold made every packet an mmap + page faults + munmap. With 4 MiB, measured with
        // bench:tunnel: CPU per GiB 1.50–1.80 → 1.32–1.36 s, RSS after 4.1 GiB of transfers +3 MB
        // (92–95 → 95–100), 1,000 fresh connections unchanged (61 MB). Other C libraries ignore it.
        env: { MALLOC_MMAP_THRESHOLD_: String(4 * 1024 * 1024), ...process.env, ...this.opts.env, ELECTRON_RUN_AS_NODE: '1' },
        windowsHide: true,
      });
      child.on('error', (e) => this.opts.log.error(`tunnel service failed to start: ${e.message}`));
      child.unref();
      this.opts.log.info(`started tunnel service pid ${child.pid}`);
    } finally {
      fs.closeSync(out);
    }
  }
}
