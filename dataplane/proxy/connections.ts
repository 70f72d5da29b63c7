import type * as net from 'node:net';
import { formatTarget, type Target } from '../protocol/parse';

export interface ConnectionStats {
  readonly id: number;
  readonly protocol: 'socks5' | 'http';
  readonly target: string;
  readonly client: string;
  readonly openedAt: number;
  readonly closedAt?: number;
  /** Bytes the local client sent (uploaded) and received (downloaded). */
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly durationMs: number;
  readonly error?: string;
}

interface Live {
  id: number;
  protocol: 'socks5' | 'http';
  target: string;
  client: string;
  openedAt: number;
  socket: net.Socket;
}

/**
 * Live and recently closed proxied connections. Byte counts come from the client socket's own
 * counters at read time, so the data path does no per-chunk accounting. Closed connections go to a
 * fixed ring rather than an array shifted on every close.
 */
export class ConnectionTable {
  private nextId = 1;
  private readonly live = new Map<number, Live>();
  private readonly closed: ConnectionStats[] = [];
  private closedNext = 0;
  private totalUp = 0;
  private totalDown = 0;
  private totalOpened = 0;

  constructor(private readonly keepClosed = 200) {}

  open(protocol: 'socks5' | 'http', target: Target, socket: net.Socket): number {
    const id = this.nextId++;
    this.totalOpened++;
    this.live.set(id, { id, protocol, target: formatTarget(target), client: `${socket.remoteAddress}:${socket.remotePort}`, openedAt: Date.now(), socket });
    return id;
  }

  close(id: number, error?: string): void {
    const c = this.live.get(id);
    if (!c) return;
    this.live.delete(id);
    const s = this.snapshot(c, Date.now(), error);
    this.totalUp += s.bytesUp;
    this.totalDown += s.bytesDown;
    if (this.keepClosed <= 0) return;
    this.closed[this.closedNext] = s;
    this.closedNext = (this.closedNext + 1) % this.keepClosed;
  }

  get liveCount(): number {
    return this.live.size;
  }

  list(): { live: ConnectionStats[]; recent: ConnectionStats[] } {
    const now = Date.now();
    // Oldest first: once the ring is full, the oldest entry is the one written next.
    const recent = this.closed.length < this.keepClosed ? [...this.closed] : [...this.closed.slice(this.closedNext), ...this.closed.slice(0, this.closedNext)];
    return { live: [...this.live.values()].map((c) => this.snapshot(c, now)), recent };
  }

  totals(): { opened: number; live: number; bytesUp: number; bytesDown: number } {
    let up = this.totalUp;
    let down = this.totalDown;
    for (const c of this.live.values()) {
      up += c.socket.bytesRead;
      down += c.socket.bytesWritten;
    }
    return { opened: this.totalOpened, live: this.live.size, bytesUp: up, bytesDown: down };
  }

  private snapshot(c: Live, now: number, error?: string): ConnectionStats {
    const s: { -readonly [K in keyof ConnectionStats]: ConnectionStats[K] } = {
      id: c.id,
      protocol: c.protocol,
      target: c.target,
      client: c.client,
      openedAt: c.openedAt,
      bytesUp: c.socket.bytesRead,
      bytesDown: c.socket.bytesWritten,
      durationMs: now - c.openedAt,
    };
    if (!this.live.has(c.id)) s.closedAt = now;
    if (error) s.error = error;
    return s;
  }
}
