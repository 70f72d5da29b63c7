/**
 * HTTP/1.x exchanges read from reassembled TCP streams: each request paired with its response, in
 * order (pipelining included), with method, target, host, status and body sizes. Bodies are framed
 * per RFC 9112 (Content-Length, chunked, or until close for responses).
 */
import { reassembleTcp, timeAt, type PcapPacket, type TcpStream } from './pcap';

export interface HttpExchange {
  readonly client: string;
  readonly server: string;
  /** Capture time (s since epoch) of the request's first byte. */
  readonly time: number;
  readonly method: string;
  readonly target: string;
  readonly host?: string;
  readonly requestBodyBytes: number;
  readonly status?: number;
  readonly reason?: string;
  readonly contentType?: string;
  readonly responseBodyBytes?: number;
  /** From the request's first byte to the response's first byte, in ms. */
  readonly latencyMs?: number;
}

interface Message {
  readonly startLine: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly bodyBytes: number;
  readonly start: number;
  readonly complete: boolean;
}

const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

export function httpExchanges(packets: readonly PcapPacket[]): HttpExchange[] {
  const out: HttpExchange[] = [];
  for (const conv of reassembleTcp(packets)) {
    const requests = readMessages(conv.toServer, 'request', []);
    if (requests.length === 0) continue;
    const responses = readMessages(conv.toClient, 'response', requests.map((r) => r.startLine.slice(0, r.startLine.indexOf(' '))));
    requests.forEach((req, i) => {
      const [method = '', target = ''] = req.startLine.split(' ');
      const res = responses[i];
      const reqTime = timeAt(conv.toServer, req.start) ?? conv.start;
      const host = req.headers.get('host');
      let response: Partial<HttpExchange> = {};
      if (res) {
        const sp1 = res.startLine.indexOf(' ');
        const sp2 = res.startLine.indexOf(' ', sp1 + 1);
        const status = Number(res.startLine.slice(sp1 + 1, sp2 < 0 ? undefined : sp2));
        const resTime = timeAt(conv.toClient, res.start);
        const contentType = res.headers.get('content-type');
        response = {
          status,
          reason: sp2 < 0 ? '' : res.startLine.slice(sp2 + 1),
          responseBodyBytes: res.bodyBytes,
          ...(contentType ? { contentType } : {}),
          ...(resTime !== undefined ? { latencyMs: Math.max(0, Math.round((resTime - reqTime) * 1e6) / 1e3) } : {}),
        };
      }
      out.push({ client: conv.client, server: conv.server, time: reqTime, method, target, ...(host ? { host } : {}), requestBodyBytes: req.bodyBytes, ...response });
    });
  }
  return out.sort((a, b) => a.time - b.time);
}

function readMessages(stream: TcpStream, kind: 'request' | 'response', requestMethods: readonly string[]): Message[] {
  const b = stream.bytes;
  const out: Message[] = [];
  let off = 0;
  while (off < b.length) {
    const headEnd = indexOf(b, [13, 10, 13, 10], off);
    if (headEnd < 0) break;
    const head = latin1(b.subarray(off, headEnd));
    const lines = head.split('\r\n');
    const startLine = lines[0] ?? '';
    if (kind === 'request' ? !isRequestLine(startLine) : !startLine.startsWith('HTTP/1.')) break;
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
    }
    const bodyStart = headEnd + 4;
    let bodyBytes = 0;
    let next = bodyStart;
    let complete = true;
    const status = kind === 'response' ? Number(startLine.split(' ')[1]) : 0;
    const noBody = kind === 'response' && (requestMethods[out.length] === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304);
    const te = headers.get('transfer-encoding')?.toLowerCase();
    const cl = headers.get('content-length');
    if (noBody) {
      // nothing follows the head
    } else if (te !== undefined && te.split(',').map((x) => x.trim()).includes('chunked')) {
      const r = readChunked(b, bodyStart);
      bodyBytes = r.bodyBytes;
      next = r.end;
      complete = r.complete;
    } else if (cl !== undefined && /^\d+$/.test(cl)) {
      bodyBytes = Math.min(Number(cl), b.length - bodyStart);
      complete = bodyStart + Number(cl) <= b.length;
      next = bodyStart + Number(cl);
    } else if (kind === 'response') {
      bodyBytes = b.length - bodyStart;
      next = b.length;
    }
    out.push({ startLine, headers, bodyBytes, start: off, complete });
    if (!complete) break;
    off = next;
  }
  return out;
}

function readChunked(b: Uint8Array, from: number): { bodyBytes: number; end: number; complete: boolean } {
  let off = from;
  let total = 0;
  for (;;) {
    const eol = indexOf(b, [13, 10], off);
    if (eol < 0) return { bodyBytes: total, end: b.length, complete: false };
    const sizeText = latin1(b.subarray(off, eol)).split(';')[0]?.trim() ?? '';
    const size = Number.parseInt(sizeText, 16);
    if (Number.isNaN(size)) return { bodyBytes: total, end: b.length, complete: false };
    off = eol + 2;
    if (size === 0) {
      // Trailer fields, then an empty line.
      const end = indexOf(b, [13, 10], off);
      if (end === off) return { bodyBytes: total, end: off + 2, complete: true };
      const trailerEnd = indexOf(b, [13, 10, 13, 10], off);
      return trailerEnd < 0 ? { bodyBytes: total, end: b.length, complete: false } : { bodyBytes: total, end: trailerEnd + 4, complete: true };
    }
    if (off + size + 2 > b.length) return { bodyBytes: total + Math.max(0, b.length - off), end: b.length, complete: false };
    total += size;
    off += size + 2;
  }
}

function isRequestLine(line: string): boolean {
  const parts = line.split(' ');
  return parts.length === 3 && methods.has(parts[0] ?? '') && (parts[2] ?? '').startsWith('HTTP/1.');
}

function indexOf(hay: Uint8Array, needle: readonly number[], from: number): number {
  const first = needle[0] as number;
  for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}
