import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { DevlaneError, toDevlaneError } from '../../extension/core/errors';
import { Emitter, type Disposable, type Event } from '../../extension/core/events';
import type { Logger } from '../../extension/core/log';
import { PacketFramer, defaultIdSizes, encodeCommand, protocolError, type IdSizes } from './codec';
import { decodeComposite, type EventSet } from './events';
import { CommandSet, HANDSHAKE } from './protocol';

/** A command the VM answered with an error code. `code` is the JDWP error number. */
export class JdwpCommandError extends DevlaneError {
  constructor(
    readonly code: number,
    readonly commandSet: number,
    readonly command: number,
  ) {
    super('jdwp-protocol', `The JVM refused command ${commandSet}/${command} with JDWP error ${code}.`);
  }
}

export function isJdwpError(e: unknown, code: number): boolean {
  return e instanceof JdwpCommandError && e.code === code;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Opens the byte stream instead of a TCP connection to host:port (a port-forward to a pod);
   * host:port then only name the target in messages.
   */
  readonly open?: () => Promise<Duplex>;
  /** How long the VM may take to echo the handshake (HotSpot itself gives us about 2 s). */
  readonly handshakeTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Timeout of the first commands (IDSizes, Version, Capabilities); a stalled start fails fast. */
  readonly setupTimeoutMs?: number;
  readonly log?: Logger;
}

interface Pending {
  readonly resolve: (data: Buffer) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: NodeJS.Timeout;
  readonly commandSet: number;
  readonly command: number;
}

/**
 * One JDWP connection: handshake, framing, request/reply correlation with a timeout per request,
 * and the event stream. It never throws out of a socket callback: any malformed or unexpected
 * packet closes the connection and is reported once through `onDidClose`.
 */
export class JdwpConnection implements Disposable {
  private readonly pending = new Map<number, Pending>();
  /** Replies that may still arrive for requests we gave up on; they are dropped, not errors. */
  private readonly abandoned = new Set<number>();
  private nextId = 1;
  private framer = new PacketFramer();
  private closedWith: DevlaneError | undefined | null = null;
  private readonly events = new Emitter<EventSet>();
  private readonly closes = new Emitter<DevlaneError | undefined>();
  /** Event sets that arrived before anyone listened (VM_START follows the handshake at once). */
  private early: EventSet[] | undefined = [];
  /** The event stream; the first subscriber also receives what arrived before it subscribed. */
  readonly onEvent: Event<EventSet> = (listener) => {
    const sub = this.events.event(listener);
    const early = this.early;
    this.early = undefined;
    if (early?.length) queueMicrotask(() => early.forEach((e) => this.events.fire(e)));
    return sub;
  };
  /** Fires once: `undefined` when we closed it, otherwise why it ended. */
  readonly onDidClose = this.closes.event;
  sizes: IdSizes = defaultIdSizes;

  private constructor(
    private readonly socket: Duplex,
    private readonly requestTimeoutMs: number,
    private readonly log: Logger | undefined,
  ) {
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (e) => this.close(new DevlaneError('jdwp-protocol', `The connection to the JVM failed: ${e.message}.`, { cause: e })));
    socket.on('close', () => this.close(new DevlaneError('jdwp-protocol', 'The JVM closed the debug connection (it exited, or the connection dropped).')));
  }

  static async connect(opts: ConnectOptions): Promise<JdwpConnection> {
    const where = `${opts.host}:${opts.port}`;
    const stream = opts.open ? await opts.open() : undefined;
    return new Promise((resolve, reject) => {
      const socket: Duplex = stream ?? net.connect({ host: opts.host, port: opts.port, noDelay: true });
      let got = Buffer.alloc(0);
      let connected = false;
      const fail = (e: DevlaneError) => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.destroy();
        reject(e);
      };
      const timer = setTimeout(
        () =>
          fail(
            connected
              ? new DevlaneError('jdwp-handshake', `The JVM at ${where} accepted the connection but did not answer the JDWP handshake within ${opts.handshakeTimeoutMs ?? 10_000} ms. Check that the port is a JDWP port.`)
              : new DevlaneError('jdwp-handshake', `Could not connect to ${where} within ${opts.handshakeTimeoutMs ?? 10_000} ms. Check the host and port.`),
          ),
        opts.handshakeTimeoutMs ?? 10_000,
      );
      const hello = () => {
        connected = true;
        // HotSpot closes connections that stay silent for ~2 s: the handshake goes out at once.
        socket.write(HANDSHAKE);
      };
      if (stream) hello();
      else socket.once('connect', hello);
      socket.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') {
          fail(
            new DevlaneError('jdwp-handshake', `Nothing accepts connections at ${where}. Start the JVM with -agentlib:jdwp=transport=dt_socket,server=y,address=… — or, if it is running, another debugger is attached: a JVM stops listening while one debugger is connected.`, { cause: e }),
          );
        } else fail(new DevlaneError('jdwp-handshake', `Could not reach the JVM at ${where}: ${e.message}`, { cause: e }));
      });
      socket.on('close', () =>
        fail(
          connected
            ? new DevlaneError('jdwp-already-attached', `The JVM at ${where} closed the connection during the JDWP handshake. Another debugger is probably attached (a JVM accepts one at a time): detach it and try again.`)
            : new DevlaneError('jdwp-handshake', `The connection to ${where} closed before it was established.`),
        ),
      );
      socket.on('data', (chunk) => {
        got = Buffer.concat([got, chunk]);
        if (got.length < HANDSHAKE.length) return;
        if (got.subarray(0, HANDSHAKE.length).toString('latin1') !== HANDSHAKE) {
          fail(new DevlaneError('jdwp-handshake', `The service at ${where} is not a JDWP agent: it answered the handshake with other bytes.`, { detail: got.subarray(0, 32).toString('hex') }));
          return;
        }
        clearTimeout(timer);
        socket.removeAllListeners();
        const conn = new JdwpConnection(socket, opts.requestTimeoutMs ?? 15_000, opts.log);
        const rest = got.subarray(HANDSHAKE.length);
        resolve(conn);
        // Events can follow the handshake in the same segment (VM_START with suspend=y).
        if (rest.length) queueMicrotask(() => conn.onData(rest));
      });
    });
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Sends a command and resolves with the reply's data, or rejects with JdwpCommandError. */
  send(commandSet: number, command: number, data: Buffer = Buffer.alloc(0), timeoutMs = this.requestTimeoutMs): Promise<Buffer> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith ?? new DevlaneError('jdwp-protocol', 'The debug connection is closed.'));
    const id = this.nextId++;
    if (this.nextId > 0x7fffffff) this.nextId = 1;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.abandoned.add(id);
        reject(new DevlaneError('timeout', `The JVM did not answer command ${commandSet}/${command} within ${timeoutMs} ms. It may be overloaded or the connection stalled.`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, commandSet, command });
      this.log?.trace(`jdwp → #${id} ${commandSet}/${command} (${data.length} bytes)`);
      this.socket.write(encodeCommand({ id, commandSet, command, data }));
    });
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith !== null) return;
    try {
      for (const p of this.framer.push(chunk)) {
        if (p.kind === 'reply') {
          const req = this.pending.get(p.id);
          if (!req) {
            if (this.abandoned.delete(p.id)) continue;
            throw protocolError(`The JVM sent a reply (id ${p.id}) to a command that was never sent.`);
          }
          this.pending.delete(p.id);
          clearTimeout(req.timer);
          this.log?.trace(`jdwp ← #${p.id} error=${p.errorCode} (${p.data.length} bytes)`);
          if (p.errorCode !== 0) req.reject(new JdwpCommandError(p.errorCode, req.commandSet, req.command));
          else req.resolve(p.data);
        } else if (p.commandSet === CommandSet.Event && p.command === 100) {
          const set = decodeComposite(p.data, this.sizes);
          if (this.early) this.early.push(set);
          else this.events.fire(set);
        } else {
          throw protocolError(`The JVM sent an unexpected command ${p.commandSet}/${p.command}.`);
        }
      }
    } catch (e) {
      this.close(toDevlaneError(e, 'jdwp-protocol'));
    }
  }

  private close(reason: DevlaneError | undefined): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    this.socket.destroy();
    const err = reason ?? new DevlaneError('jdwp-protocol', 'The debug connection was closed.');
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    if (reason) this.log?.debug(`jdwp connection closed: ${reason.message}`);
    this.closes.fire(reason);
    this.closes.dispose();
    this.events.dispose();
  }

  /** Ends the connection as if it had failed with `reason` (a keep-alive that got no answer: the forward stalled). */
  abort(reason: DevlaneError): void {
    this.close(reason);
  }

  dispose(): void {
    this.close(undefined);
  }
}
