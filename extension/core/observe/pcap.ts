/**
 * A reader for libpcap capture files (what `tcpdump -w` writes), down to TCP segments, and the
 * reassembly of each TCP connection's two byte streams. Link types: Ethernet, Linux cooked v1/v2
 * (`-i any`), raw IP, BSD loopback. pcapng is not read (tcpdump on Linux writes pcap).
 */

export interface PcapPacket {
  /** Seconds since the epoch, with the file's precision (µs or ns). */
  readonly time: number;
  readonly linkType: number;
  readonly origLength: number;
  readonly data: Uint8Array;
}

export interface PcapFile {
  readonly linkType: number;
  readonly snapLength: number;
  readonly packets: PcapPacket[];
  /** True when the file ends inside a record (a capture still being written, a cut download). */
  readonly truncated: boolean;
}

export class PcapFormatError extends Error {
  override readonly name = 'PcapFormatError';
}

export function readPcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < 24) throw new PcapFormatError(`a pcap file starts with a 24-byte header; this one has ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBE = view.getUint32(0, false);
  let little: boolean;
  let nanos: boolean;
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) {
    little = false;
    nanos = magicBE === 0xa1b23c4d;
  } else if (magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1) {
    little = true;
    nanos = magicBE === 0x4d3cb2a1;
  } else if (magicBE === 0x0a0d0d0a) {
    throw new PcapFormatError('this is a pcapng file; write captures with tcpdump -w (pcap format)');
  } else {
    throw new PcapFormatError(`not a pcap file (magic 0x${magicBE.toString(16)})`);
  }
  const snapLength = view.getUint32(16, little);
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const packets: PcapPacket[] = [];
  let off = 24;
  let truncated = false;
  while (off < bytes.length) {
    if (off + 16 > bytes.length) {
      truncated = true;
      break;
    }
    const sec = view.getUint32(off, little);
    const frac = view.getUint32(off + 4, little);
    const incl = view.getUint32(off + 8, little);
    const orig = view.getUint32(off + 12, little);
    if (off + 16 + incl > bytes.length) {
      truncated = true;
      break;
    }
    packets.push({ time: sec + frac / (nanos ? 1e9 : 1e6), linkType, origLength: orig, data: bytes.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  return { linkType, snapLength, packets, truncated };
}

export interface TcpSegment {
  readonly time: number;
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly syn: boolean;
  readonly fin: boolean;
  readonly rst: boolean;
  readonly ackFlag: boolean;
  readonly payload: Uint8Array;
}

/** The IP packet inside a link-layer frame, or undefined for non-IP frames. */
export function ipPayload(linkType: number, frame: Uint8Array): { version: 4 | 6; packet: Uint8Array } | undefined {
  let etherType: number;
  let off: number;
  switch (linkType) {
    case 1: // EN10MB
      if (frame.length < 14) return undefined;
      etherType = u16(frame, 12);
      off = 14;
      while ((etherType === 0x8100 || etherType === 0x88a8) && frame.length >= off + 4) {
        etherType = u16(frame, off + 2);
        off += 4;
      }
      break;
    case 113: // LINUX_SLL
      if (frame.length < 16) return undefined;
      etherType = u16(frame, 14);
      off = 16;
      break;
    case 276: // LINUX_SLL2
      if (frame.length < 20) return undefined;
      etherType = u16(frame, 0);
      off = 20;
      break;
    case 0: // NULL: a 4-byte address family in the capturing host's byte order
    case 108: {
      // LOOP: the same, in network byte order
      if (frame.length < 4) return undefined;
      const v = frame[4] === undefined ? 0 : (frame[4] >> 4);
      etherType = v === 6 ? 0x86dd : v === 4 ? 0x0800 : 0;
      off = 4;
      break;
    }
    case 101: // RAW
    case 12:
    case 14: {
      const v = (frame[0] ?? 0) >> 4;
      etherType = v === 6 ? 0x86dd : v === 4 ? 0x0800 : 0;
      off = 0;
      break;
    }
    case 228:
      etherType = 0x0800;
      off = 0;
      break;
    case 229:
      etherType = 0x86dd;
      off = 0;
      break;
    default:
      return undefined;
  }
  if (etherType === 0x0800) return { version: 4, packet: frame.subarray(off) };
  if (etherType === 0x86dd) return { version: 6, packet: frame.subarray(off) };
  return undefined;
}

/** The TCP segment in a frame, if it carries one (first fragments only). */
export function tcpSegment(p: PcapPacket): TcpSegment | undefined {
  const ip = ipPayload(p.linkType, p.data);
  if (!ip) return undefined;
  let src: string;
  let dst: string;
  let l4: Uint8Array;
  const b = ip.packet;
  if (ip.version === 4) {
    if (b.length < 20) return undefined;
    const ihl = ((b[0] ?? 0) & 0x0f) * 4;
    const total = u16(b, 2);
    const fragOffset = u16(b, 6) & 0x1fff;
    if (b[9] !== 6 || fragOffset !== 0) return undefined;
    src = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    dst = `${b[16]}.${b[17]}.${b[18]}.${b[19]}`;
    l4 = b.subarray(ihl, Math.min(b.length, total || b.length));
  } else {
    if (b.length < 40) return undefined;
    let next = b[6] ?? 0;
    let off = 40;
    const payloadEnd = Math.min(b.length, 40 + u16(b, 4));
    // Hop-by-hop, routing, destination options: skip to the transport header.
    while ((next === 0 || next === 43 || next === 60) && off + 8 <= payloadEnd) {
      next = b[off] ?? 0;
      off += ((b[off + 1] ?? 0) + 1) * 8;
    }
    if (next !== 6) return undefined;
    src = ipv6(b.subarray(8, 24));
    dst = ipv6(b.subarray(24, 40));
    l4 = b.subarray(off, payloadEnd);
  }
  if (l4.length < 20) return undefined;
  const dataOff = ((l4[12] ?? 0) >> 4) * 4;
  const flags = l4[13] ?? 0;
  return {
    time: p.time,
    src,
    srcPort: u16(l4, 0),
    dst,
    dstPort: u16(l4, 2),
    seq: u32(l4, 4),
    ack: u32(l4, 8),
    fin: (flags & 0x01) !== 0,
    syn: (flags & 0x02) !== 0,
    rst: (flags & 0x04) !== 0,
    ackFlag: (flags & 0x10) !== 0,
    payload: l4.subarray(Math.min(dataOff, l4.length)),
  };
}

/** One direction of a TCP connection, its bytes in order, with the time each byte range arrived. */
export interface TcpStream {
  readonly bytes: Uint8Array;
  /** Ascending stream offsets with the capture time of the segment that started there. */
  readonly times: readonly (readonly [offset: number, time: number])[];
  /** Bytes missing from the capture (lost or cut by the snap length) were filled with zeros. */
  readonly gaps: number;
}

export interface TcpConversation {
  readonly client: string;
  readonly server: string;
  readonly start: number;
  readonly toServer: TcpStream;
  readonly toClient: TcpStream;
}

const endpointOf = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * Groups segments into connections and reassembles both directions. The side that sent the bare SYN
 * is the client; without a handshake in the capture, the side that sent data first is, which holds
 * for request/response protocols like HTTP/1.x.
 */
export function reassembleTcp(packets: readonly PcapPacket[]): TcpConversation[] {
  interface Dir {
    base?: number;
    segs: Map<number, { data: Uint8Array; time: number }>;
    firstData?: number;
    synTime?: number;
  }
  interface Conn {
    a: string;
    b: string;
    dirs: Map<string, Dir>;
    start: number;
    client?: string;
  }
  const conns = new Map<string, Conn>();
  const order: Conn[] = [];
  for (const p of packets) {
    const s = tcpSegment(p);
    if (!s) continue;
    const from = endpointOf(s.src, s.srcPort);
    const to = endpointOf(s.dst, s.dstPort);
    const key = from < to ? `${from}|${to}` : `${to}|${from}`;
    let c = conns.get(key);
    // A new SYN on a finished key is a new connection reusing the port pair.
    if (c && s.syn && !s.ackFlag && (c.dirs.get(from)?.segs.size ?? 0) > 0) {
      conns.delete(key);
      c = undefined;
    }
    if (!c) {
      c = { a: from, b: to, dirs: new Map(), start: s.time };
      conns.set(key, c);
      order.push(c);
    }
    let d = c.dirs.get(from);
    if (!d) {
      d = { segs: new Map() };
      c.dirs.set(from, d);
    }
    if (s.syn) {
      d.base = (s.seq + 1) >>> 0;
      if (!s.ackFlag) c.client ??= from;
      continue;
    }
    if (s.payload.length === 0) continue;
    d.base ??= s.seq;
    const rel = (s.seq - d.base) >>> 0;
    if (rel > 0x7fffffff) continue; // before the start we know of: an old retransmission
    const prev = d.segs.get(rel);
    if (!prev || prev.data.length < s.payload.length) d.segs.set(rel, { data: s.payload, time: prev?.time ?? s.time });
    if (d.firstData === undefined) d.firstData = s.time;
  }
  return order.map((c) => {
    const dirA = c.dirs.get(c.a);
    const dirB = c.dirs.get(c.b);
    let client = c.client;
    if (!client) {
      const ta = dirA?.firstData ?? Infinity;
      const tb = dirB?.firstData ?? Infinity;
      client = ta <= tb ? c.a : c.b;
    }
    const server = client === c.a ? c.b : c.a;
    return { client, server, start: c.start, toServer: build(c.dirs.get(client)), toClient: build(c.dirs.get(server)) };
  });
}

function build(d: { segs: Map<number, { data: Uint8Array; time: number }> } | undefined): TcpStream {
  if (!d || d.segs.size === 0) return { bytes: new Uint8Array(0), times: [], gaps: 0 };
  const offsets = [...d.segs.keys()].sort((x, y) => x - y);
  let end = 0;
  for (const o of offsets) end = Math.max(end, o + (d.segs.get(o) as { data: Uint8Array }).data.length);
  const bytes = new Uint8Array(end);
  const times: [number, number][] = [];
  let covered = 0;
  let gaps = 0;
  for (const o of offsets) {
    const seg = d.segs.get(o) as { data: Uint8Array; time: number };
    if (o > covered) gaps += o - covered;
    if (o + seg.data.length > covered) {
      bytes.set(seg.data.subarray(Math.max(0, covered - o)), Math.max(o, covered));
      times.push([Math.max(o, covered), seg.time]);
      covered = o + seg.data.length;
    }
  }
  return { bytes, times, gaps };
}

/** The capture time of the segment holding a stream offset. */
export function timeAt(stream: TcpStream, offset: number): number | undefined {
  let t: number | undefined;
  for (const [o, time] of stream.times) {
    if (o > offset) break;
    t = time;
  }
  return t;
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}
function u32(b: Uint8Array, i: number): number {
  return (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
}
function ipv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(u16(b, i).toString(16));
  // Compress the longest run of zero groups, as people write addresses.
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestAt < 0) return groups.join(':');
  return `${groups.slice(0, bestAt).join(':')}::${groups.slice(bestAt + bestLen).join(':')}`;
}
