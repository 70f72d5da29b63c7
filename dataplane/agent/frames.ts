/**
 * The multiplexed protocol between the data plane and the in-cluster agent: one WebSocket carries
 * many TCP streams as binary messages `[op u8][stream u32 BE][payload]`. Flow control is per stream:
 * a sender keeps at most WINDOW unacknowledged bytes in flight and the receiver returns CREDIT once
 * its socket has taken the bytes, so neither side buffers without bound.
 *
 * Either side opens streams: the data plane with OPEN (the agent dials a cluster address), the agent
 * with INBOUND (a connection arrived on a listener the data plane asked for with LISTEN). The opener
 * picks the stream id: the data plane from the low half of the id space, the agent from the high
 * half (AGENT_STREAM_BIT), so ids never collide. An INBOUND names only the listener: the data plane
 * alone decides which local address it reaches, so an agent cannot make the laptop dial anything else.
 */

export const Op = {
  /** payload: JSON {host, port} — dial from the agent */
  Open: 1,
  Opened: 2,
  /** payload: UTF-8 reason */
  Failed: 3,
  Data: 4,
  /** the sender will send no more data (half-close) */
  End: 5,
  /** the stream is gone (either side) */
  Close: 6,
  /** payload: u32 BE bytes consumed */
  Credit: 7,
  /** data plane → agent, stream = listener id; payload: JSON {host, port} to listen on in the pod */
  Listen: 8,
  /** agent → data plane, stream = listener id; payload: JSON {port} actually bound */
  Listening: 9,
  /** stream = listener id; payload: UTF-8 reason. Data plane → agent: stop listening. Agent → data plane: the listen failed or the listener died. */
  Unlisten: 10,
  /** agent → data plane: a connection arrived; payload: JSON {listener, from} — answered with OPENED or FAILED */
  Inbound: 11,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export const WINDOW = 1024 * 1024;
/** Largest DATA payload a sender puts in one message (the agent's maxPayload allows a little more). */
export const MAX_CHUNK = 64 * 1024;
/** Set in the ids of streams the agent opens (inbound connections). */
export const AGENT_STREAM_BIT = 0x80000000;

export interface Frame {
  readonly op: Op;
  readonly stream: number;
  readonly payload: Buffer;
}

export function encodeFrame(op: Op, stream: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = op;
  head.writeUInt32BE(stream >>> 0, 1);
  return payload.length === 0 ? head : Buffer.concat([head, payload]);
}

/** undefined for a message that is not a frame of this protocol (the caller drops the connection). */
export function decodeFrame(msg: Uint8Array): Frame | undefined {
  if (msg.length < 5) return undefined;
  const op = msg[0]!;
  if (op < Op.Open || op > Op.Inbound) return undefined;
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.length);
  const stream = b.readUInt32BE(1);
  const payload = b.subarray(5);
  if (op === Op.Credit && payload.length !== 4) return undefined;
  return { op: op as Op, stream, payload };
}

export function encodeCredit(stream: number, bytes: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(bytes >>> 0, 0);
  return encodeFrame(Op.Credit, stream, p);
}

export function parseOpen(payload: Buffer): { host: string; port: number } | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { host?: unknown; port?: unknown };
    if (typeof v.host !== 'string' || !v.host || v.host.length > 255) return undefined;
    if (typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 1 || v.port > 65535) return undefined;
    return { host: v.host, port: v.port };
  } catch {
    return undefined;
  }
}

function json(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isPort = (v: unknown, min = 1): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 65535;

/** LISTEN: port 0 asks the agent for any free port. */
export function parseListen(payload: Buffer): { host: string; port: number } | undefined {
  const v = json(payload);
  if (!v || typeof v.host !== 'string' || !v.host || v.host.length > 255 || !isPort(v.port, 0)) return undefined;
  return { host: v.host, port: v.port };
}

export function parseListening(payload: Buffer): { port: number } | undefined {
  const v = json(payload);
  return v && isPort(v.port) ? { port: v.port } : undefined;
}

export function parseInbound(payload: Buffer): { listener: number; from: string } | undefined {
  const v = json(payload);
  if (!v || typeof v.listener !== 'number' || !Number.isInteger(v.listener) || v.listener < 0 || v.listener > 0xffffffff) return undefined;
  return { listener: v.listener, from: typeof v.from === 'string' ? v.from.slice(0, 100) : '' };
}
