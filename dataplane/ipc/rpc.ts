import type { Duplex } from 'node:stream';
import { DevlaneError, type ErrorReason } from '../../extension/core/errors';

/**
 * Requests, answers and events as JSON lines over one stream (a Unix socket or named pipe between
 * the extension and the data plane). Both ends may ask; each request gets exactly one answer or is
 * rejected when the stream closes.
 */

type Wire =
  | { t: 'req'; id: number; method: string; params: unknown }
  | { t: 'res'; id: number; result?: unknown; error?: { reason: ErrorReason; message: string; detail?: string } }
  | { t: 'evt'; name: string; data: unknown };

/** Longest line accepted; a peer sending more is cut off rather than buffered without bound. */
const MAX_LINE = 4 * 1024 * 1024;

/**
 * Structural, not instanceof: the agent transport is a separate bundle with its own copy of the
 * DevlaneError class, and its reason codes must still cross the wire.
 */
function asDevlaneError(error: unknown): DevlaneError {
  if (error instanceof DevlaneError) return error;
  const r = error as { name?: unknown; reason?: unknown; message?: unknown; detail?: unknown } | undefined;
  if (r && r.name === 'DevlaneError' && typeof r.reason === 'string' && typeof r.message === 'string') {
    return new DevlaneError(r.reason as ErrorReason, r.message, typeof r.detail === 'string' ? { detail: r.detail } : {});
  }
  return new DevlaneError('internal', error instanceof Error ? error.message : String(error));
}

export type RequestHandler = (params: unknown) => Promise<unknown> | unknown;

export class RpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined }>();
  private readonly handlers = new Map<string, RequestHandler>();
  private eventListener: ((name: string, data: unknown) => void) | undefined;
  private closeListeners: (() => void)[] = [];
  private buffered = '';
  private closed = false;

  constructor(private readonly stream: Duplex) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.onData(chunk));
    stream.on('error', () => stream.destroy());
    stream.on('close', () => this.closedNow());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  handle(method: string, handler: RequestHandler): void {
    this.handlers.set(method, handler);
  }

  onEvent(listener: (name: string, data: unknown) => void): void {
    this.eventListener = listener;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  request<T = unknown>(method: string, params: unknown = {}, timeoutMs?: number): Promise<T> {
    if (this.closed) return Promise.reject(new DevlaneError('tunnel-down', 'The tunnel service is not running.'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        this.pending.delete(id);
        reject(new DevlaneError('timeout', `The tunnel service did not answer "${method}" within ${Math.round(timeoutMs / 1000)} s.`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.send({ t: 'req', id, method, params });
    });
  }

  notify(name: string, data: unknown): void {
    if (!this.closed) this.send({ t: 'evt', name, data });
  }

  close(): void {
    this.stream.end();
    this.stream.destroy();
  }

  private send(m: Wire): void {
    this.stream.write(`${JSON.stringify(m)}\n`);
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.dispatch(line);
    }
    if (this.buffered.length > MAX_LINE) this.stream.destroy();
  }

  private dispatch(line: string): void {
    let m: Wire;
    try {
      m = JSON.parse(line) as Wire;
    } catch {
      this.stream.destroy();
      return;
    }
    if (m.t === 'evt') {
      this.eventListener?.(m.name, m.data);
    } else if (m.t === 'res') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error) p.reject(new DevlaneError(m.error.reason, m.error.message, m.error.detail === undefined ? {} : { detail: m.error.detail }));
      else p.resolve(m.result);
    } else if (m.t === 'req') {
      const h = this.handlers.get(m.method);
      const answer = (result: unknown, error?: unknown) => {
        if (this.closed) return;
        if (error === undefined) return this.send({ t: 'res', id: m.id, result: result ?? null });
        const e = asDevlaneError(error);
        this.send({ t: 'res', id: m.id, error: { reason: e.reason, message: e.message, ...(e.detail ? { detail: e.detail } : {}) } });
      };
      if (!h) return answer(undefined, new DevlaneError('internal', `unknown request ${m.method}`));
      Promise.resolve()
        .then(() => h(m.params))
        .then((r) => answer(r), (e: unknown) => answer(undefined, e ?? new Error('failed')));
    }
  }

  private closedNow(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new DevlaneError('tunnel-down', 'The connection to the tunnel service closed.'));
    }
    this.pending.clear();
    for (const l of this.closeListeners.splice(0)) l();
  }
}
