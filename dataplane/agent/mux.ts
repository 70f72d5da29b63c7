import { Duplex } from 'node:stream';
import { AGENT_STREAM_BIT, decodeFrame, encodeCredit, encodeFrame, MAX_CHUNK, Op, parseInbound, parseListen, parseListening, parseOpen, WINDOW, type Frame } from './frames';

/** One TCP stream carried over the agent WebSocket, as a Duplex either end can pipe a socket into. */
export class MuxChannel extends Duplex {
  private inflight = 0;
  private blocked: { chunk: Buffer; cb: (e?: Error | null) => void } | undefined;
  private owed = 0;
  private remoteClosed = false;

  constructor(
    readonly id: number,
    private readonly mux: Mux,
  ) {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.pump(chunk, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.mux.send(encodeFrame(Op.End, this.id));
    cb();
  }

  override _read(): void {
    if (this.owed > 0) {
      this.mux.send(encodeCredit(this.id, this.owed));
      this.owed = 0;
    }
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (!this.remoteClosed) this.mux.send(encodeFrame(Op.Close, this.id));
    this.mux.forget(this.id);
    const b = this.blocked;
    this.blocked = undefined;
    b?.cb(err ?? null);
    cb(err);
  }

  onFrame(f: Frame): void {
    switch (f.op) {
      case Op.Data:
        // The window bounds what the peer may send; credit goes back once the reader has it.
        if (this.push(f.payload)) this.mux.send(encodeCredit(this.id, f.payload.length));
        else this.owed += f.payload.length;
        break;
      case Op.Credit:
        this.inflight -= f.payload.readUInt32BE(0);
        if (this.blocked) {
          const b = this.blocked;
          this.blocked = undefined;
          this.pump(b.chunk, b.cb);
        }
        break;
      case Op.End:
        this.push(null);
        break;
      case Op.Close:
        this.remoteClosed = true;
        this.destroy();
        break;
    }
  }

  private pump(chunk: Buffer, cb: (e?: Error | null) => void): void {
    let at = 0;
    while (at < chunk.length && this.inflight < WINDOW) {
      const piece = chunk.subarray(at, at + Math.min(MAX_CHUNK, WINDOW - this.inflight));
      this.mux.send(encodeFrame(Op.Data, this.id, piece));
      this.inflight += piece.length;
      at += piece.length;
    }
    if (at < chunk.length) this.blocked = { chunk: chunk.subarray(at), cb };
    else cb();
  }
}

/** What one end of the protocol does when the other asks something of it. */
export interface MuxHandlers {
  /** Agent: the data plane asks to dial `target`; answer with accept() or refuse(). */
  readonly onOpen?: (id: number, target: { host: string; port: number }) => void;
  /** Data plane: a connection arrived on agent listener `listener`; answer with accept() or refuse(). */
  readonly onInbound?: (id: number, inbound: { listener: number; from: string }) => void;
  /** Agent: the data plane asks for a listener; answer with listening() or unlisten(). */
  readonly onListen?: (listener: number, at: { host: string; port: number }) => void;
  /** Agent: stop listening. Data plane: a listener died on the agent. */
  readonly onUnlisten?: (listener: number, reason: string) => void;
}

interface Pending<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

/**
 * Both ends of the agent protocol. The data plane is the `dataplane` side (open(), listen()), the
 * agent the `agent` side (inbound()); each answers the other's requests through its handlers.
 * Frames go out through `send` (a WebSocket's send).
 */
export class Mux {
  private readonly channels = new Map<number, MuxChannel>();
  private readonly pending = new Map<number, Pending<MuxChannel>>();
  private readonly listens = new Map<number, Pending<{ listener: number; port: number }>>();
  private readonly idBit: number;
  private nextId = 1;
  private nextListener = 1;
  private closed = false;

  constructor(
    readonly send: (frame: Buffer) => void,
    private readonly handlers: MuxHandlers = {},
    side: 'dataplane' | 'agent' = 'dataplane',
  ) {
    this.idBit = side === 'agent' ? AGENT_STREAM_BIT : 0;
  }

  get size(): number {
    return this.channels.size;
  }

  /** Returns false for a message that is not valid protocol (the caller should drop the peer). */
  receive(msg: Uint8Array): boolean {
    const f = decodeFrame(msg);
    if (!f) return false;
    switch (f.op) {
      case Op.Open: {
        const t = parseOpen(f.payload);
        if (!t || !this.handlers.onOpen || !this.theirs(f.stream)) return false;
        this.handlers.onOpen(f.stream, t);
        return true;
      }
      case Op.Inbound: {
        const t = parseInbound(f.payload);
        if (!t || !this.handlers.onInbound || !this.theirs(f.stream)) return false;
        this.handlers.onInbound(f.stream, t);
        return true;
      }
      case Op.Opened:
      case Op.Failed: {
        const p = this.pending.get(f.stream);
        if (!p) return true;
        this.pending.delete(f.stream);
        if (f.op === Op.Opened) p.resolve(this.register(f.stream));
        else p.reject(Object.assign(new Error(f.payload.toString('utf8') || 'connect failed'), { stream: f.stream }));
        return true;
      }
      case Op.Listen: {
        const at = parseListen(f.payload);
        if (!at || !this.handlers.onListen) return false;
        this.handlers.onListen(f.stream, at);
        return true;
      }
      case Op.Listening: {
        const at = parseListening(f.payload);
        if (!at) return false;
        const p = this.listens.get(f.stream);
        this.listens.delete(f.stream);
        p?.resolve({ listener: f.stream, port: at.port });
        return true;
      }
      case Op.Unlisten: {
        const reason = f.payload.toString('utf8');
        const p = this.listens.get(f.stream);
        if (p) {
          this.listens.delete(f.stream);
          p.reject(new Error(reason || 'the agent could not listen'));
        } else this.handlers.onUnlisten?.(f.stream, reason);
        return true;
      }
      default:
        this.channels.get(f.stream)?.onFrame(f);
        return true;
    }
  }

  /** Data plane: a stream to `target`, dialled by the agent. */
  open(target: { host: string; port: number }): Promise<MuxChannel> {
    return this.request(Op.Open, Buffer.from(JSON.stringify(target)));
  }

  /** Agent: a connection arrived on `listener`; resolves once the data plane reached its local target. */
  inbound(listener: number, from: string): Promise<MuxChannel> {
    return this.request(Op.Inbound, Buffer.from(JSON.stringify({ listener, from })));
  }

  /** Data plane: asks the agent to listen (port 0: any free port); resolves with the listener id and the bound port. */
  listen(at: { host: string; port: number }): Promise<{ listener: number; port: number }> {
    if (this.closed) return Promise.reject(new Error('the agent connection is closed'));
    const id = this.nextListener;
    this.nextListener = (this.nextListener + 1) >>> 0 || 1;
    return new Promise((resolve, reject) => {
      this.listens.set(id, { resolve, reject });
      this.send(encodeFrame(Op.Listen, id, Buffer.from(JSON.stringify(at))));
    });
  }

  /** Agent: the listener is bound. */
  listening(listener: number, port: number): void {
    this.send(encodeFrame(Op.Listening, listener, Buffer.from(JSON.stringify({ port }))));
  }

  /** Data plane: stop listening. Agent: the listen failed, or the listener died. */
  unlisten(listener: number, reason = ''): void {
    if (!this.closed) this.send(encodeFrame(Op.Unlisten, listener, Buffer.from(reason.slice(0, 500))));
  }

  /** The peer's open succeeded here; returns the channel to pipe the socket with. */
  accept(id: number): MuxChannel {
    const ch = this.register(id);
    this.send(encodeFrame(Op.Opened, id));
    return ch;
  }

  refuse(id: number, reason: string): void {
    this.send(encodeFrame(Op.Failed, id, Buffer.from(reason.slice(0, 500))));
  }

  forget(id: number): void {
    this.channels.delete(id);
  }

  /** The WebSocket is gone: every stream ends and every pending open or listen fails. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('the agent connection closed'));
    this.pending.clear();
    for (const p of this.listens.values()) p.reject(new Error('the agent connection closed'));
    this.listens.clear();
    for (const c of [...this.channels.values()]) c.destroy();
  }

  /** A stream id the peer may open: from its half of the id space and not in use. */
  private theirs(id: number): boolean {
    return (id & AGENT_STREAM_BIT) !== this.idBit && !this.channels.has(id);
  }

  private request(op: Op, payload: Buffer): Promise<MuxChannel> {
    if (this.closed) return Promise.reject(new Error('the agent connection is closed'));
    const id = (this.idBit | this.nextId) >>> 0;
    // The counter wraps within the opener's half of the id space.
    this.nextId = (this.nextId + 1) & ~AGENT_STREAM_BIT || 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(encodeFrame(op, id, payload));
    });
  }

  private register(id: number): MuxChannel {
    const ch = new MuxChannel(id, this);
    this.channels.set(id, ch);
    return ch;
  }
}
