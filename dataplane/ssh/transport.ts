import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { bindingAvailable } from 'ssh2/lib/protocol/crypto.js';
import { Client, utils, type AnyAuthMethod, type AuthenticationType, type AuthHandlerMiddleware, type ClientChannel, type ConnectConfig, type NextAuthHandler, type ParsedKey } from 'ssh2';
import { DevlaneError, type ErrorReason } from '../../extension/core/errors';
import { Emitter } from '../../extension/core/events';
import type { Logger } from '../../extension/core/log';
import { formatTarget, type Target } from '../protocol/parse';
import { Reply } from '../protocol/socks5';
import { canRelease, markChunksOwned, release } from '../proxy/chunkRelease';
import { DialError } from '../proxy/proxyServer';
import { checkHostKey, fingerprint, keyTypeOf, knownHostsLine, parseKnownHosts, preferKnownAlgorithms } from './knownHosts';
import type { SshHop } from './sshConfig';

export type TransportStateName = 'connecting' | 'on' | 'degraded' | 'error' | 'off';

export interface TransportState {
  readonly state: TransportStateName;
  readonly rttMs?: number;
  readonly detail?: string;
  readonly error?: { readonly reason: ErrorReason; readonly message: string };
}

export interface HostKeyQuestion {
  readonly host: string;
  readonly port: number;
  readonly keyType: string;
  readonly fingerprint: string;
}

export interface SecretQuestion {
  readonly kind: 'password' | 'passphrase';
  /** `user@host:port` for passwords, the key file for passphrases. */
  readonly account: string;
  /** True when an earlier answer for this account was refused. */
  readonly retry: boolean;
}

/** What the data plane asks its controller while connecting (answered by the user or SecretStorage). */
export interface TransportQuestions {
  /** Trust-on-first-use: true to trust (and record) the key. */
  hostKey(q: HostKeyQuestion): Promise<boolean>;
  /** undefined when the user has none to give. Never logged. */
  secret(q: SecretQuestion): Promise<string | undefined>;
}

export interface ReverseForward {
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly localHost: string;
  readonly localPort: number;
}

export interface SshTransportOptions {
  readonly hops: readonly SshHop[];
  /** The first file is where newly trusted keys are appended. */
  readonly knownHostsFiles: readonly string[];
  readonly hashKnownHosts?: boolean;
  readonly agentSocket?: string;
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  readonly readyTimeoutMs?: number;
  /** How often round-trip time is probed, and how long an unanswered probe may take before "degraded". */
  readonly probeIntervalMs?: number;
  readonly degradedAfterMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly ciphers?: readonly string[];
  readonly questions: TransportQuestions;
  readonly log: Logger;
}

const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
// An address no forward is ever bound to: cancelling it costs sshd nothing and always gets a reply.
const PROBE_BIND = 'rtt-probe.devlane.invalid';

const hopName = (h: SshHop) => `${h.user}@${h.hostName}:${h.port}`;

/**
 * Ciphers whose ssh2 deciphers copy every input byte they keep (their output is fresh memory), and
 * whose ciphers write only fresh output or views of a packet buffer of their own that nothing keeps
 * once encrypted (ssh2 1.17, lib/protocol/crypto.js: AESGCMCipherNative, GenericCipherNative).
 */
const COPYING_DECIPHERS: ReadonlySet<string> = new Set(
  ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm', 'aes256-gcm', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc'],
);

/** Whether ssh2 de- or encrypts each packet in a buffer of its own with this cipher (see sshSocket). */
const copiesPackets = (cipher: string): boolean => !bindingAvailable && COPYING_DECIPHERS.has(cipher);

// One read takes up to this much: OpenSSH reads its socket 256 KiB at a time too.
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * The TCP socket to the first hop. No Nagle: small control packets (channel open/close) must not
 * wait ~40 ms for a delayed ACK. Instead, packets ssh2 writes in the same tick (EOF + CLOSE, bursts
 * of data packets) are corked into one writev, so the system-call count stays near OpenSSH's.
 *
 * Reads land in one reused buffer rather than a fresh 64 KiB allocation per read (at 500 MB/s that
 * is 8,000 allocations a second, each served and returned by mmap). ssh2 only sees the bytes as a
 * 'data' event, but some of its parsers keep views of the input across reads: the unencrypted
 * handshake (KEXINIT is hashed later) and the chacha20-poly1305 decipher (a packet body waiting for
 * its MAC), and its optional native binding decrypts in place, so payloads are views of the input.
 * So every read is copied unless `handshake` names a decipher that copies what it keeps (AES-GCM,
 * AES-CTR/CBC with HMAC, without the binding: checked in ssh2 1.17's lib/protocol/crypto.js).
 *
 * With such an outbound cipher, every packet written is freed once the kernel has it (freeingWrites).
 */
function sshSocket(host: string, port: number): { socket: net.Socket; handshake(inboundCipher: string, outboundCipher: string): void } {
  let reuse = false;
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const sock = net.connect({
    host,
    port,
    noDelay: true,
    onread: {
      buffer: readBuffer,
      callback: (n: number, buf: Uint8Array) => {
        const view = Buffer.from(buf.buffer, buf.byteOffset, n);
        sock.emit('data', reuse ? view : Buffer.from(view));
        return true;
      },
    },
  });
  const freeWritten = freeingWrites(sock, true);
  return {
    socket: sock,
    handshake: (inbound, outbound) => {
      reuse = copiesPackets(inbound);
      freeWritten(outbound);
    },
  };
}

/**
 * Frees every packet ssh2 writes into `stream` (the first hop's TCP socket, or the channel a
 * ProxyJump hop runs through) once the stream is done with it (chunkRelease.ts), while the outbound
 * cipher last given to the returned function is one whose packets nothing else keeps. Left to the
 * collector, an upload's packets piled up like a download's: 256 MiB up grew the data plane by
 * 38–42 MB, now ~20 MB (the client's reads are left to the collector, see chunkRelease.ts).
 * Nothing is freed before the first key exchange (ssh2 keeps its KEXINIT to hash it), and small
 * writes sit in Buffer's shared pool and are never freed. A channel copies what it is given into
 * packets of its own before calling back, so the same holds there.
 *
 * `cork`: writes made in one tick go out together (one writev on a socket).
 */
function freeingWrites(stream: Duplex, cork: boolean): (outboundCipher: string) => void {
  let free = false;
  const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  stream.write = ((...args: unknown[]) => {
    if (cork && !corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    const chunk = args[0];
    // ssh2 writes with no callback of its own.
    if (free && args.length === 1 && chunk instanceof Uint8Array) return write(chunk, () => release(chunk));
    return write(...args);
  }) as typeof stream.write;
  return (outboundCipher) => {
    free = canRelease && copiesPackets(outboundCipher);
  };
}

/**
 * ssh2's Channel.destroy() calls end() even when the channel has already sent its EOF, and Node
 * then builds (and drops) an ERR_STREAM_ALREADY_FINISHED error with its stack trace. Streams call
 * destroy() by themselves once both directions are done, so that happened on every connection
 * (about 3 % of a short connection's CPU, measured). Once writing has ended, close is all that is left.
 */
function quietDestroy(ch: ClientChannel): ClientChannel {
  const destroy = ch.destroy.bind(ch);
  ch.destroy = (() => {
    if (!ch.writableEnded) return destroy();
    ch.close();
    return ch;
  }) as typeof ch.destroy;
  return ch;
}

/** Rejection raised inside one connection attempt; `fatal` ones stop automatic reconnection. */
class AttemptError extends DevlaneError {
  constructor(reason: ErrorReason, message: string, readonly fatal: boolean, cause?: unknown) {
    super(reason, message, cause === undefined ? {} : { cause });
  }
}

/**
 * An SSH connection (through any ProxyJump hops) that dials TCP targets on the far side, carries
 * reverse forwards, measures round-trip time, and reconnects with backoff once it has been up.
 */
export class SshTransport {
  private readonly states = new Emitter<TransportState>();
  readonly onState = this.states.event;
  private current: TransportState = { state: 'off' };
  private clients: Client[] = [];
  private stopped = false;
  private everUp = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probeSentAt: number | undefined;
  private attempt = 0;
  private readonly forwards: ReverseForward[] = [];
  private readonly inbound = new Set<Duplex>();
  /** Hops whose packets ssh2 decrypts into buffers of their own: their channels' chunks may be freed once written. */
  private readonly payloadsCopied = new WeakSet<Client>();
  // Answers given during this transport's life, so a reconnect does not ask again.
  private readonly secrets = new Map<string, string>();

  constructor(private readonly opts: SshTransportOptions) {}

  get state(): TransportState {
    return this.current;
  }

  get reverseForwards(): readonly ReverseForward[] {
    return this.forwards;
  }

  /** Connects; rejects with the DevlaneError of the first attempt if it fails (no retry then). */
  async start(): Promise<void> {
    this.set({ state: 'connecting', detail: `connecting to ${this.opts.hops.map(hopName).join(' → ')}` });
    try {
      await this.connectOnce();
    } catch (e) {
      const err = e instanceof DevlaneError ? e : new DevlaneError('ssh-unreachable', String(e));
      this.set({ state: 'error', error: { reason: err.reason, message: err.message } });
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    for (const s of this.inbound) s.destroy();
    this.teardown();
    this.set({ state: 'off' });
    this.states.dispose();
  }

  readonly dial = (target: Target, origin: { address: string; port: number }): Promise<Duplex> => {
    const last = this.clients[this.clients.length - 1];
    if (!last || (this.current.state !== 'on' && this.current.state !== 'degraded')) {
      return Promise.reject(new DialError(`the tunnel is ${this.current.state}`, Reply.NetworkUnreachable));
    }
    return new Promise((resolve, reject) => {
      try {
        last.forwardOut(origin.address, origin.port, target.host, target.port, (err, ch) => {
          if (err) {
            const code = (err as Error & { reason?: number }).reason;
            return reject(new DialError(`${formatTarget(target)}: ${err.message}`, code === 1 ? Reply.NotAllowed : code === 2 ? Reply.ConnectionRefused : Reply.GeneralFailure));
          }
          ch.on('error', () => ch.destroy());
          resolve(this.payloadsCopied.has(last) ? markChunksOwned(quietDestroy(ch)) : quietDestroy(ch));
        });
      } catch (e) {
        reject(new DialError(e instanceof Error ? e.message : String(e), Reply.NetworkUnreachable));
      }
    });
  };

  /** Asks the last hop to listen and forward connections to a local address; kept across reconnects. */
  async addReverseForward(f: ReverseForward): Promise<ReverseForward> {
    const last = this.clients[this.clients.length - 1];
    if (!last) throw new DevlaneError('tunnel-down', 'The tunnel is not connected; connect it before adding a reverse forward.');
    const port = await this.requestForward(last, f);
    const added = { ...f, bindPort: port };
    this.forwards.push(added);
    return added;
  }

  async removeReverseForward(bindAddress: string, bindPort: number): Promise<void> {
    const i = this.forwards.findIndex((f) => f.bindAddress === bindAddress && f.bindPort === bindPort);
    if (i < 0) return;
    this.forwards.splice(i, 1);
    const last = this.clients[this.clients.length - 1];
    if (last) await new Promise<void>((resolve) => last.unforwardIn(bindAddress, bindPort, () => resolve()));
  }

  private requestForward(c: Client, f: ReverseForward): Promise<number> {
    return new Promise((resolve, reject) =>
      c.forwardIn(f.bindAddress, f.bindPort, (err, port) => {
        if (err) {
          reject(new DevlaneError('port-in-use', `The bastion refused to listen on ${f.bindAddress}:${f.bindPort} (${err.message}). The port may be taken there, or sshd forbids remote forwarding (AllowTcpForwarding, GatewayPorts).`, { cause: err }));
        } else {
          resolve(port || f.bindPort);
        }
      }),
    );
  }

  private set(s: TransportState): void {
    const prev = this.current;
    this.current = s;
    if (prev.state !== s.state || prev.rttMs !== s.rttMs || prev.detail !== s.detail) this.states.fire(s);
  }

  private async connectOnce(): Promise<void> {
    const hops = this.opts.hops;
    if (hops.length === 0) throw new AttemptError('invalid-input', 'No SSH host to connect to.', true);
    const clients: Client[] = [];
    try {
      for (let i = 0; i < hops.length; i++) {
        const hop = hops[i]!;
        if (i > 0) {
          const channel = await this.forwardThrough(clients[i - 1]!, hops[i - 1]!, hop);
          const freeWritten = freeingWrites(channel, false);
          clients.push(await this.connectHop(hop, channel, (_inbound, outbound) => freeWritten(outbound)));
        } else {
          const first = sshSocket(hop.hostName, hop.port);
          clients.push(await this.connectHop(hop, first.socket, first.handshake));
        }
      }
    } catch (e) {
      for (const c of clients) c.destroy();
      throw e;
    }
    if (this.stopped) {
      for (const c of clients) c.destroy();
      return;
    }
    this.clients = clients;
    for (const c of clients) c.on('close', () => this.lost(c));
    const last = clients[clients.length - 1]!;
    last.on('tcp connection', (info, accept, reject) => this.onInbound(info.destIP, info.destPort, accept, reject));
    for (const f of this.forwards) {
      try {
        await this.requestForward(last, f);
      } catch (e) {
        this.opts.log.warn(`re-establishing reverse forward ${f.bindAddress}:${f.bindPort} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.everUp = true;
    this.attempt = 0;
    this.set({ state: 'on', detail: `connected to ${hops.map(hopName).join(' → ')}` });
    this.startProbes(last);
  }

  private forwardThrough(via: Client, viaHop: SshHop, next: SshHop): Promise<ClientChannel> {
    return new Promise((resolve, reject) =>
      via.forwardOut('127.0.0.1', 0, next.hostName, next.port, (err, ch) => {
        if (err) reject(new AttemptError('ssh-unreachable', `${viaHop.hostName} could not open a connection to the next hop ${next.hostName}:${next.port} (${err.message}). Check the ProxyJump chain and that the next host is reachable from ${viaHop.hostName}.`, false, err));
        else resolve(ch);
      }),
    );
  }

  private connectHop(hop: SshHop, sock: Duplex, onHandshake?: (inboundCipher: string, outboundCipher: string) => void): Promise<Client> {
    const c = new Client();
    // Every key exchange (rekeys too) says which decipher reads the socket from then on.
    c.on('handshake', (n) => {
      if (copiesPackets(n.sc.cipher)) this.payloadsCopied.add(c);
      else this.payloadsCopied.delete(c);
      onHandshake?.(n.sc.cipher, n.cs.cipher);
    });
    const known = this.readKnownHosts();
    const knownTypes = (() => {
      const v = checkHostKey(known, hop.hostName, hop.port, Buffer.alloc(0));
      return v.status === 'unknown' || v.status === 'changed' ? v.knownTypes : [];
    })();
    let hostKeyError: AttemptError | undefined;
    let triedMethods: string[] = [];
    const cfg: ConnectConfig = {
      host: hop.hostName,
      port: hop.port,
      username: hop.user,
      sock,
      readyTimeout: this.opts.readyTimeoutMs ?? 20_000,
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: this.opts.keepaliveCountMax ?? 3,
      algorithms: {
        serverHostKey: preferKnownAlgorithms(HOST_KEY_ALGORITHMS, knownTypes) as never,
        ...(this.opts.ciphers ? { cipher: [...this.opts.ciphers] as never } : {}),
      },
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        this.verifyHostKey(hop, key).then(
          () => verify(true),
          (e: AttemptError) => {
            hostKeyError = e;
            verify(false);
          },
        );
      },
      authHandler: this.authHandler(hop, (m) => (triedMethods = m)),
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: AttemptError) => {
        if (settled) return;
        settled = true;
        c.destroy();
        reject(e);
      };
      c.on('ready', () => {
        if (settled) return;
        settled = true;
        resolve(c);
      });
      // ssh2 throws on an unhandled 'error' (ECONNRESET among them): this handler stays for the client's life.
      c.on('error', (err: Error & { level?: string; code?: string }) => {
        if (settled) {
          this.opts.log.debug(`ssh ${hopName(hop)}: ${err.message}`);
          return;
        }
        if (hostKeyError) return fail(hostKeyError);
        if (err.level === 'client-authentication') {
          return fail(new AttemptError('ssh-auth', `${hopName(hop)} refused the login (tried ${[...new Set(triedMethods)].join(', ') || 'no method'}). Check the user name, key or password${this.secrets.size ? '; a stored password or passphrase was cleared' : ''}.`, true, err));
        }
        const why = err.code ?? err.message;
        fail(new AttemptError('ssh-unreachable', `Could not reach the SSH server ${hop.hostName}:${hop.port} (${why}). Check that the host is up and reachable from this machine, and the port in your SSH config.`, false, err));
      });
      c.on('close', () => fail(hostKeyError ?? new AttemptError('ssh-unreachable', `The SSH server ${hop.hostName}:${hop.port} closed the connection during login.`, false)));
      try {
        c.connect(cfg);
      } catch (e) {
        fail(new AttemptError('invalid-input', `Cannot connect to ${hopName(hop)}: ${e instanceof Error ? e.message : String(e)}`, true, e));
      }
    });
  }

  private readKnownHosts() {
    return this.opts.knownHostsFiles.flatMap((f) => {
      try {
        return parseKnownHosts(fs.readFileSync(f, 'utf8'));
      } catch {
        return [];
      }
    });
  }

  private async verifyHostKey(hop: SshHop, key: Buffer): Promise<void> {
    const verdict = checkHostKey(this.readKnownHosts(), hop.hostName, hop.port, key);
    const fp = fingerprint(key);
    if (verdict.status === 'known') return;
    if (verdict.status === 'revoked') {
      throw new AttemptError('ssh-host-key-changed', `The host key of ${hop.hostName}:${hop.port} (${fp}) is marked @revoked in known_hosts; Devlane refuses to connect.`, true);
    }
    if (verdict.status === 'changed') {
      throw new AttemptError(
        'ssh-host-key-changed',
        `The host key of ${hop.hostName}:${hop.port} has CHANGED (now ${keyTypeOf(key)} ${fp}); known_hosts line ${verdict.line} holds a different key. This can mean someone is intercepting the connection, or the server was reinstalled. Confirm with its administrator, then remove the old line (ssh-keygen -R) and connect again.`,
        true,
      );
    }
    const trusted = await this.opts.questions.hostKey({ host: hop.hostName, port: hop.port, keyType: keyTypeOf(key), fingerprint: fp });
    if (!trusted) {
      throw new AttemptError('ssh-host-key-unknown', `The host key of ${hop.hostName}:${hop.port} (${keyTypeOf(key)} ${fp}) is not in known_hosts and was not trusted. Compare the fingerprint with the one the server's administrator gives you.`, true);
    }
    const file = this.opts.knownHostsFiles[0];
    if (file) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.appendFileSync(file, `${knownHostsLine(hop.hostName, hop.port, key, this.opts.hashKnownHosts ?? false)}\n`, { mode: 0o600 });
    }
  }

  private authHandler(hop: SshHop, report: (tried: string[]) => void) {
    const account = hopName(hop);
    const tried: string[] = [];
    let stage = 0;
    const identities = hop.identityFiles.filter((f) => fs.existsSync(f));
    let passwordTries = 0;
    const next = async (left: readonly string[] | null): Promise<AnyAuthMethod | false> => {
      const allows = (m: string) => left === null || left.includes(m);
      if (stage === 0) {
        stage = 1;
        if (this.opts.agentSocket && !hop.identitiesOnly && allows('publickey')) {
          tried.push('agent');
          return { type: 'agent', username: hop.user, agent: this.opts.agentSocket };
        }
      }
      while (identities.length > 0 && allows('publickey')) {
        const file = identities.shift()!;
        const key = await this.loadKey(file);
        if (key) {
          tried.push(`key ${path.basename(file)}`);
          return { type: 'publickey', username: hop.user, key };
        }
      }
      if ((allows('password') || allows('keyboard-interactive')) && passwordTries < 2) {
        const cacheKey = `password:${account}`;
        const password = passwordTries === 0 && this.secrets.has(cacheKey) ? this.secrets.get(cacheKey) : await this.opts.questions.secret({ kind: 'password', account, retry: passwordTries > 0 });
        passwordTries++;
        if (password === undefined) return false;
        this.secrets.set(cacheKey, password);
        if (allows('password')) {
          tried.push('password');
          return { type: 'password', username: hop.user, password };
        }
        tried.push('keyboard-interactive');
        return { type: 'keyboard-interactive', username: hop.user, prompt: (_n: string, _i: string, _l: string, prompts: readonly unknown[], finish: (answers: string[]) => void) => finish(prompts.map(() => password)) };
      }
      return false;
    };
    // ssh2 passes null before the first attempt, and `false` ends authentication (its types say neither).
    const handler = (left: AuthenticationType[] | null, _partial: boolean | null, cb: NextAuthHandler) => {
      const stop = false as unknown as AnyAuthMethod;
      next(left).then(
        (r) => {
          report([...tried]);
          if (r === false) this.secrets.delete(`password:${account}`);
          cb(r === false ? stop : r);
        },
        () => cb(stop),
      );
    };
    return handler as AuthHandlerMiddleware;
  }

  private async loadKey(file: string): Promise<ParsedKey | undefined> {
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      return undefined;
    }
    const plain = utils.parseKey(data);
    if (!(plain instanceof Error)) return Array.isArray(plain) ? plain[0] : plain;
    const cacheKey = `passphrase:${file}`;
    for (let retry = false; ; retry = true) {
      const pass = !retry && this.secrets.has(cacheKey) ? this.secrets.get(cacheKey) : await this.opts.questions.secret({ kind: 'passphrase', account: file, retry });
      if (pass === undefined) return undefined;
      const k = utils.parseKey(data, pass);
      if (!(k instanceof Error)) {
        this.secrets.set(cacheKey, pass);
        return Array.isArray(k) ? k[0] : k;
      }
      this.secrets.delete(cacheKey);
      if (retry) return undefined;
    }
  }

  private onInbound(destIP: string, destPort: number, accept: () => ClientChannel, reject: () => void): void {
    const f = this.forwards.find((x) => x.bindPort === destPort && (x.bindAddress === destIP || x.bindAddress === '' || x.bindAddress === '0.0.0.0' || x.bindAddress === 'localhost'));
    if (!f) return reject();
    const local = net.connect({ host: f.localHost, port: f.localPort, allowHalfOpen: true });
    local.once('connect', () => {
      const ch = accept();
      this.inbound.add(ch);
      ch.on('error', () => local.destroy());
      ch.on('close', () => {
        this.inbound.delete(ch);
        local.destroy();
      });
      local.on('close', () => ch.destroy());
      local.pipe(ch);
      ch.pipe(local);
    });
    local.on('error', (e) => {
      this.opts.log.debug(`reverse forward to ${f.localHost}:${f.localPort}: ${e.message}`);
      if (local.connecting) reject();
    });
  }

  private startProbes(c: Client): void {
    clearInterval(this.probeTimer);
    this.probeSentAt = undefined;
    const every = this.opts.probeIntervalMs ?? 5_000;
    let lastSent = 0;
    const tick = () => {
      if (this.clients[this.clients.length - 1] !== c) return;
      const now = Date.now();
      if (this.probeSentAt !== undefined) {
        const waited = now - this.probeSentAt;
        if (waited >= (this.opts.degradedAfterMs ?? 10_000)) this.set({ state: 'degraded', detail: `no answer from the bastion for ${Math.round(waited / 1000)} s` });
        return;
      }
      if (now - lastSent < every) return;
      lastSent = now;
      this.probeSentAt = now;
      try {
        c.unforwardIn(PROBE_BIND, 1, () => {
          if (this.clients[this.clients.length - 1] !== c || this.probeSentAt === undefined) return;
          const rtt = Date.now() - this.probeSentAt;
          this.probeSentAt = undefined;
          this.set({ state: 'on', rttMs: rtt, detail: `connected to ${this.opts.hops.map(hopName).join(' → ')}` });
        });
      } catch {
        this.probeSentAt = undefined;
      }
    };
    tick();
    // Ticks are finer than probes so a late answer turns "degraded" within about a second.
    this.probeTimer = setInterval(tick, Math.min(every, 1_000));
  }

  private teardown(): void {
    const cs = this.clients;
    this.clients = [];
    for (const c of cs.reverse()) c.destroy();
  }

  private lost(c: Client): void {
    if (!this.clients.includes(c) || this.stopped) return;
    clearInterval(this.probeTimer);
    this.teardown();
    this.set({ state: this.everUp ? 'degraded' : 'connecting', detail: 'connection lost; reconnecting' });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const b = this.opts.backoff ?? { initialMs: 250, maxMs: 4_000 };
    const delay = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.connectOnce().catch((e: unknown) => {
        if (this.stopped) return;
        const err = e instanceof AttemptError ? e : new AttemptError('ssh-unreachable', String(e), false);
        if (err.fatal) {
          this.set({ state: 'error', error: { reason: err.reason, message: err.message } });
          return;
        }
        this.set({ state: 'degraded', detail: `reconnecting (attempt ${this.attempt}): ${err.message}` });
        this.scheduleRetry();
      });
    }, delay);
  }
}
