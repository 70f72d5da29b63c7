import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { DevlaneError } from '../../extension/core/errors';
import type { Logger } from '../../extension/core/log';
import { CONNECT_ESTABLISHED, MAX_HEAD_BYTES, originRequestHead, parseProxyRequest, statusResponse } from '../protocol/httpConnect';
import { formatTarget, type Target } from '../protocol/parse';
import * as socks from '../protocol/socks5';
import { ownsChunks, release } from './chunkRelease';
import type { ConnectionTable } from './connections';

/** Opens a stream to a target through some transport (SSH channel, agent stream, plain TCP). */
export type Dialer = (target: Target, origin: { address: string; port: number }) => Promise<Duplex>;

/** The SOCKS reply a dial failure asks for (read structurally: transports may come from another bundle). */
function replyOf(e: unknown): socks.Reply {
  const r = (e as { reply?: unknown } | undefined)?.reply;
  return typeof r === 'number' && r >= 1 && r <= 8 ? (r as socks.Reply) : socks.Reply.GeneralFailure;
}

/** A dial failure that knows which SOCKS reply describes it. */
export class DialError extends Error {
  constructor(message: string, readonly reply: socks.Reply) {
    super(message);
  }
}

export interface ProxyOptions {
  readonly protocol: 'socks5' | 'http';
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly credentials?: socks.Credentials;
  readonly dial: Dialer;
  readonly table: ConnectionTable;
  readonly log: Logger;
  readonly handshakeTimeoutMs?: number;
}

const SOCKS_MAX_HANDSHAKE = 2048;

/**
 * How much may wait in a client socket before the far side is paused: the packets of one SSH read
 * (up to 256 KiB) are queued together, so the socket's own 16 KiB mark would pause the channel on
 * every read. Only the writing side gets the larger mark: a paused client's socket still stops
 * reading at 16 KiB.
 */
const CLIENT_QUEUE_LIMIT = 256 * 1024;

/**
 * A SOCKS5 or HTTP proxy on loopback whose connections go wherever its dialer takes them. Parsing
 * is done by the pure functions in ../protocol; this class only moves bytes and keeps the table.
 */
export class ProxyServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly remotes = new Set<Duplex>();
  /** Clients still in their SOCKS/HTTP handshake, with the time they must have finished by. */
  private readonly handshaking = new Map<net.Socket, number>();
  private sweeper: NodeJS.Timeout | undefined;
  private boundPort = 0;

  constructor(private readonly opts: ProxyOptions) {
    // Half-open sockets let a client shut down its sending side and still read the answer.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const what = this.opts.protocol === 'socks5' ? 'SOCKS' : 'HTTP proxy';
        if (e.code === 'EADDRINUSE') {
          reject(new DevlaneError('port-in-use', `The ${what} port ${this.opts.port} on ${this.host} is already in use. Stop the program using it or choose another port in the devlane.tunnel settings.`, { cause: e }));
        } else {
          reject(new DevlaneError('internal', `Could not open the ${what} port ${this.opts.port}: ${e.message}`, { cause: e }));
        }
      };
      this.server.once('error', onError);
      this.server.listen({ host: this.host, port: this.opts.port, backlog: 2048 }, () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => this.opts.log.error(`proxy server error: ${e.message}`));
        this.boundPort = (this.server.address() as net.AddressInfo).port;
        resolve(this.boundPort);
      });
    });
  }

  /** Stops listening and cuts every connection. */
  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const r of this.remotes) r.destroy();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    this.handshaking.set(socket, Date.now() + (this.opts.handshakeTimeoutMs ?? 30_000));
    this.sweepHandshakes();
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.handshaking.delete(socket);
    });
    socket.on('error', (e) => this.opts.log.debug(`client socket error: ${e.message}`));
    if (this.opts.protocol === 'socks5') this.socksHandshake(socket);
    else this.httpHandshake(socket);
  }

  /**
   * Cuts clients that have not finished their handshake in time. One coarse timer for the whole
   * server, running only while someone is handshaking, rather than a timer armed and cleared on
   * every socket: deadlines are kept to within a quarter of the timeout.
   */
  private sweepHandshakes(): void {
    if (this.sweeper) return;
    const every = Math.max(100, Math.floor((this.opts.handshakeTimeoutMs ?? 30_000) / 4));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [socket, deadline] of this.handshaking) {
        if (deadline <= now) {
          this.handshaking.delete(socket);
          socket.destroy();
        }
      }
      if (this.handshaking.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, every);
    this.sweeper.unref();
  }

  private collect(socket: net.Socket, limit: number, step: (buf: Buffer) => number | 'wait' | 'done'): void {
    let buf: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        const r = step(buf);
        if (r === 'wait') break;
        if (r === 'done') {
          socket.off('data', onData);
          return;
        }
        buf = buf.subarray(r);
      }
      if (buf.length > limit) socket.destroy();
    };
    socket.on('data', onData);
  }

  private socksHandshake(socket: net.Socket): void {
    let phase: 'greeting' | 'auth' | 'request' = 'greeting';
    const creds = this.opts.credentials;
    this.collect(socket, SOCKS_MAX_HANDSHAKE, (buf) => {
      if (phase === 'greeting') {
        const g = socks.parseGreeting(buf);
        if (g.kind === 'more') return 'wait';
        if (g.kind === 'error') return this.reject(socket, undefined, g.message);
        const want = creds ? socks.AUTH_USERPASS : socks.AUTH_NONE;
        if (!g.value.methods.includes(want)) {
          return this.reject(socket, socks.encodeMethodChoice(socks.AUTH_NO_ACCEPTABLE), 'no acceptable SOCKS authentication method');
        }
        socket.write(socks.encodeMethodChoice(want));
        phase = creds ? 'auth' : 'request';
        return g.consumed;
      }
      if (phase === 'auth') {
        const a = socks.parseUserPass(buf);
        if (a.kind === 'more') return 'wait';
        if (a.kind === 'error') return this.reject(socket, undefined, a.message);
        const good = creds !== undefined && a.value.username === creds.username && a.value.password === creds.password;
        if (!good) return this.reject(socket, socks.encodeUserPassStatus(false), 'SOCKS authentication failed');
        socket.write(socks.encodeUserPassStatus(true));
        phase = 'request';
        return a.consumed;
      }
      const r = socks.parseRequest(buf);
      if (r.kind === 'more') return 'wait';
      if (r.kind === 'error') return this.reject(socket, socks.encodeReply(socks.Reply.AddressTypeNotSupported), r.message);
      if (r.value.command !== socks.CMD_CONNECT) return this.reject(socket, socks.encodeReply(socks.Reply.CommandNotSupported), `SOCKS command ${r.value.command} not supported`);
      const rest = buf.subarray(r.consumed);
      this.connect(socket, 'socks5', r.value.target, rest, () => socket.write(socks.encodeReply(socks.Reply.Succeeded)), (e) => socks.encodeReply(replyOf(e)));
      return 'done';
    });
  }

  private httpHandshake(socket: net.Socket): void {
    const creds = this.opts.credentials;
    this.collect(socket, MAX_HEAD_BYTES + 4, (buf) => {
      const r = parseProxyRequest(buf);
      if (r.kind === 'more') return 'wait';
      if (r.kind === 'error') {
        const tooLarge = buf.length > MAX_HEAD_BYTES;
        return this.reject(socket, tooLarge ? statusResponse(431, 'Request Header Fields Too Large') : statusResponse(400, 'Bad Request'), r.message);
      }
      const req = r.value;
      if (creds && (req.credentials?.username !== creds.username || req.credentials.password !== creds.password)) {
        return this.reject(socket, statusResponse(407, 'Proxy Authentication Required', ['Proxy-Authenticate: Basic realm="devlane"']), 'HTTP proxy authentication failed');
      }
      const rest = buf.subarray(r.consumed);
      const onOpen = req.method === 'CONNECT' ? () => socket.write(CONNECT_ESTABLISHED) : (remote: Duplex) => remote.write(originRequestHead(req));
      this.connect(socket, 'http', req.target, rest, onOpen, (e) => (replyOf(e) === socks.Reply.ConnectionRefused ? statusResponse(502, 'Bad Gateway') : statusResponse(503, 'Service Unavailable')));
      return 'done';
    });
  }

  private reject(socket: net.Socket, answer: Buffer | undefined, why: string): 'done' {
    this.opts.log.debug(`proxy handshake refused: ${why}`);
    if (answer) socket.end(answer);
    else socket.destroy();
    return 'done';
  }

  private connect(socket: net.Socket, protocol: 'socks5' | 'http', target: Target, early: Buffer, onOpen: (remote: Duplex) => void, failure: (e: unknown) => Buffer): void {
    socket.pause();
    const id = this.opts.table.open(protocol, target, socket);
    this.opts.dial(target, { address: socket.remoteAddress ?? '127.0.0.1', port: socket.remotePort ?? 0 }).then(
      (remote) => {
        if (socket.destroyed) {
          remote.destroy();
          this.opts.table.close(id, 'client went away while connecting');
          return;
        }
        // Connected: from now on the connection may idle as long as it likes.
        this.handshaking.delete(socket);
        this.remotes.add(remote);
        onOpen(remote);
        if (early.length > 0) remote.write(early);
        this.splice(id, socket, remote);
      },
      (e: unknown) => {
        const msg = e instanceof Error ? e.message : String(e);
        this.opts.log.debug(`connect to ${formatTarget(target)} failed: ${msg}`);
        this.opts.table.close(id, msg);
        if (!socket.destroyed) socket.end(failure(e));
      },
    );
  }

  /**
   * Moves bytes both ways with plain 'data' handlers and explicit back-pressure rather than two
   * pipe() calls: pipe wires and later unwires about a dozen listeners per direction, which was a
   * measurable share of a short connection's cost. Half-close is kept: an end from one side ends
   * the other side's writing only.
   */
  private splice(id: number, socket: net.Socket, remote: Duplex): void {
    let error: string | undefined;
    remote.on('error', (e: Error) => {
      error ??= e.message;
      socket.destroy();
    });
    socket.on('error', (e) => {
      error ??= e.message;
    });
    socket.on('data', (c: Buffer) => {
      if (!remote.write(c)) socket.pause();
    });
    remote.on('drain', () => socket.resume());
    socket.on('end', () => remote.end());
    // Everything one SSH read delivers (up to eight 32 KiB packets) goes out in one writev.
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    // Written chunks of an owning stream are freed at once rather than by the collector (chunkRelease.ts).
    const owned = ownsChunks(remote);
    remote.on('data', (c: Buffer) => {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      // Past 16 KiB write() has returned false, so 'drain' follows once the queue is empty.
      if (owned) socket.write(c, () => release(c));
      else socket.write(c);
      if (socket.writableLength >= CLIENT_QUEUE_LIMIT) remote.pause();
    });
    socket.on('drain', () => remote.resume());
    remote.on('end', () => {
      if (!socket.destroyed && socket.writable) socket.end();
    });
    // The far side fully closed: let the client finish reading what was queued, then it closes.
    remote.on('close', () => {
      this.remotes.delete(remote);
      if (!socket.destroyed && socket.writable) socket.end();
    });
    socket.on('close', () => {
      remote.destroy();
      this.opts.table.close(id, error);
    });
    socket.resume();
  }
}
