import { Duplex } from 'node:stream';
import { decodeFrame, encodeCredit, encodeFrame, MAX_CHUNK, Op, parseOpen, WINDOW, type Frame } from './frames';

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

/**
 * Both ends of the agent protocol. The data plane calls open(); the agent passes `onOpen` and
 * answers with accept()/refuse(). Frames go out through `send` (a WebSocket's send).
 */
export class Mux {
  private readonly channels = new Map<number, MuxChannel>();
  private readonly pending = new Map<number, { resolve: (c: MuxChannel) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  constructor(
    readonly send: (frame: Buffer) => void,
    private readonly onOpen?: (id: number, target: { host: string; port: number }) => void,
  ) {}

  get size(): number {
    return this.channels.size;
  }

  /** Returns false for a message that is not valid protocol (the caller should drop the peer). */
  receive(msg: Uint8Array): boolean {
    const f = decodeFrame(msg);
    if (!f) return false;
    if (f.op === Op.Open) {
      const t = parseOpen(f.payload);
      if (!t || !this.onOpen || this.channels.has(f.stream)) return false;
      this.onOpen(f.stream, t);
      return true;
    }
    if (f.op === Op.Opened || f.op === Op.Failed) {
      const p = this.pending.get(f.stream);
      if (!p) return true;
      this.pending.delete(f.stream);
      if (f.op === Op.Opened) p.resolve(this.register(f.stream));
      else p.reject(Object.assign(new Error(f.payload.toString('utf8') || 'connect failed'), { stream: f.stream }));
      return true;
    }
    this.channels.get(f.stream)?.onFrame(f);
    return true;
  }

  open(target: { host: string; port: number }): Promise<MuxChannel> {
    if (this.closed) return Promise.reject(new Error('the agent connection is closed'));
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send(encodeFrame(Op.Open, id, Buffer.from(JSON.stringify(target))));
    });
  }

  /** Agent side: the dial succeeded; returns the channel to pipe the socket with. */
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

  /** The WebSocket is gone: every stream ends and every pending open fails. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('the agent connection closed'));
    this.pending.clear();
    for (const c of [...this.channels.values()]) c.destroy();
  }

  private register(id: number): MuxChannel {
    const ch = new MuxChannel(id, this);
    this.channels.set(id, ch);
    return ch;
  }
}
