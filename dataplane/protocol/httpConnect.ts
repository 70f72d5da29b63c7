import { more, parseError, type ParseResult, type Target } from './parse';
import type { Credentials } from './socks5';

/**
 * The head of a request sent to an HTTP proxy: either `CONNECT host:port` (a tunnel) or a request in
 * absolute form (`GET http://host/path`), which clients honouring HTTP_PROXY send for plain http://.
 */
export interface ProxyRequest {
  readonly method: string;
  readonly target: Target;
  readonly version: string;
  /** For absolute-form requests: the origin-form path to send to the server. */
  readonly path?: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly credentials?: Credentials;
}

/** Longest request head accepted; beyond it the client gets 431 rather than unbounded buffering. */
export const MAX_HEAD_BYTES = 16 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function parseProxyRequest(buf: Uint8Array, maxHead = MAX_HEAD_BYTES): ParseResult<ProxyRequest> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const end = b.indexOf('\r\n\r\n');
  if (end < 0) return b.length > maxHead ? parseError('request head too large') : more;
  if (end > maxHead) return parseError('request head too large');
  const lines = b.toString('latin1', 0, end).split('\r\n');
  const [method, uri, version, ...rest] = (lines[0] ?? '').split(' ');
  if (!method || !uri || !version || rest.length > 0 || !TOKEN.test(method)) return parseError('malformed request line');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return parseError(`unsupported HTTP version ${version}`);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return parseError('malformed header line');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return parseError('malformed header name');
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  const auth = headers.find(([n]) => n.toLowerCase() === 'proxy-authorization')?.[1];
  const credentials = auth === undefined ? undefined : parseBasic(auth);
  let target: Target | undefined;
  let path: string | undefined;
  if (method === 'CONNECT') {
    target = parseAuthority(uri);
    if (!target) return parseError(`CONNECT target "${uri.slice(0, 100)}" is not host:port`);
  } else {
    const abs = parseAbsolute(uri);
    if (!abs) return parseError('only CONNECT and absolute-form http:// requests are proxied');
    target = abs.target;
    path = abs.path;
  }
  return { kind: 'ok', value: { method, target, version, headers, ...(path !== undefined ? { path } : {}), ...(credentials ? { credentials } : {}) }, consumed: end + 4 };
}

/** `host:port` or `[v6]:port`; the port is required (CONNECT has no default). */
export function parseAuthority(s: string, defaultPort?: number): Target | undefined {
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return undefined;
    host = s.slice(1, close);
    const after = s.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return undefined;
    portText = after === '' ? undefined : after.slice(1);
    if (!/^[0-9a-fA-F:.]+$/.test(host)) return undefined;
  } else {
    const colon = s.lastIndexOf(':');
    host = colon < 0 ? s : s.slice(0, colon);
    portText = colon < 0 ? undefined : s.slice(colon + 1);
    if (host.includes(':')) return undefined;
    if (!/^[A-Za-z0-9._~%!$&'()*+,;=-]+$/.test(host)) return undefined;
  }
  if (!host) return undefined;
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) return undefined;
    port = defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
  }
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

function parseAbsolute(uri: string): { target: Target; path: string } | undefined {
  if (!uri.toLowerCase().startsWith('http://')) return undefined;
  const rest = uri.slice('http://'.length);
  const slash = rest.search(/[/?#]/);
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const at = authority.lastIndexOf('@');
  const target = parseAuthority(at < 0 ? authority : authority.slice(at + 1), 80);
  if (!target) return undefined;
  const path = slash < 0 ? '/' : rest.slice(slash);
  return { target, path: path.startsWith('/') ? path : `/${path}` };
}

function parseBasic(value: string): Credentials | undefined {
  const [scheme, token] = value.split(/\s+/, 2);
  if (!scheme || scheme.toLowerCase() !== 'basic' || !token) return undefined;
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The head to send to the origin server for an absolute-form request: origin-form request line,
 * proxy-only headers dropped, and `Connection: close` because later requests on a kept-alive
 * connection could name a different host than the one this tunnel reaches.
 */
export function originRequestHead(r: ProxyRequest): Buffer {
  const drop = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive']);
  const lines = [`${r.method} ${r.path ?? '/'} ${r.version}`];
  for (const [n, v] of r.headers) if (!drop.has(n.toLowerCase())) lines.push(`${n}: ${v}`);
  lines.push('Connection: close', '', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

export function statusResponse(code: number, reason: string, extra: readonly string[] = []): Buffer {
  return Buffer.from([`HTTP/1.1 ${code} ${reason}`, ...extra, 'Content-Length: 0', 'Connection: close', '', ''].join('\r\n'), 'latin1');
}

export const CONNECT_ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n', 'latin1');
