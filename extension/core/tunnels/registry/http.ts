import * as http from 'node:http';
import * as net from 'node:net';
import { encodeConnect } from '../../../../dataplane/protocol/socks5';
import { DevlaneError } from '../../errors';

/**
 * JSON over HTTP to a registry, either directly or through the tunnel's SOCKS5 proxy (the usual
 * case: the registry is a cluster Service whose name only the far side resolves).
 */
export type RegistryRoute = { readonly kind: 'direct' } | { readonly kind: 'socks'; readonly port: number; readonly host?: string; readonly credentials?: SocksCredentials };

/** The username/password (RFC 1929) the tunnel's SOCKS proxy was started with, when it has any. Never logged. */
export interface SocksCredentials {
  readonly username: string;
  readonly password: string;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export interface HttpCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

const socksReplies: Record<number, string> = {
  1: 'general failure',
  2: 'not allowed',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

/** Length of a SOCKS5 reply once its address type is known; undefined until enough bytes arrived. */
export function socksReplyLength(b: Uint8Array): number | undefined {
  if (b.length < 5) return undefined;
  const atyp = b[3];
  if (atyp === 1) return 10;
  if (atyp === 4) return 22;
  if (atyp === 3) return 7 + b[4]!;
  return 4; // unknown type: the caller reports the reply code it already has
}

/** The RFC 1929 username/password request; each field is at most 255 bytes. */
export function encodeSocksAuth(c: SocksCredentials): Buffer {
  const u = Buffer.from(c.username, 'utf8');
  const p = Buffer.from(c.password, 'utf8');
  if (u.length < 1 || u.length > 255 || p.length < 1 || p.length > 255) throw new DevlaneError('invalid-input', 'The SOCKS proxy credentials must be 1 to 255 bytes each.');
  return Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]);
}

/**
 * Opens a TCP stream to host:port through a SOCKS5 proxy: without authentication, or with
 * username/password when the tunnel's proxy was started with credentials.
 */
export function socksConnect(proxy: { host: string; port: number; credentials?: SocksCredentials }, host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: proxy.host, port: proxy.port });
    let buf = Buffer.alloc(0);
    let stage: 'method' | 'auth' | 'reply' = 'method';
    const creds = proxy.credentials;
    const timer = setTimeout(() => fail(new DevlaneError('timeout', `The tunnel did not open a connection to ${host}:${port} within ${timeoutMs} ms. Check the tunnel in the Tunnels view.`)), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.once('error', (e) => fail(new DevlaneError('tunnel-down', `Cannot reach the tunnel's SOCKS proxy on ${proxy.host}:${proxy.port}: ${e.message}. Connect the tunnel first.`, { cause: e })));
    // Offer "no authentication" and, with credentials, username/password (method 2).
    s.once('connect', () => s.write(Buffer.from(creds ? [5, 2, 0, 2] : [5, 1, 0])));
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 'method') {
        if (buf.length < 2) return;
        const method = buf[1];
        buf = buf.subarray(2);
        if (method === 2 && creds) {
          stage = 'auth';
          s.write(encodeSocksAuth(creds));
        } else if (method === 0) {
          stage = 'reply';
          s.write(encodeConnect({ host, port }));
        } else {
          return fail(new DevlaneError('tunnel-down', `The SOCKS proxy on ${proxy.host}:${proxy.port} asks for authentication Devlane was not given. Reconnect the tunnel so Devlane knows its proxy's credentials.`));
        }
      }
      if (stage === 'auth') {
        if (buf.length < 2) return;
        if (buf[1] !== 0) return fail(new DevlaneError('tunnel-down', `The SOCKS proxy on ${proxy.host}:${proxy.port} refused Devlane's credentials. Reconnect the tunnel (a new one may have replaced it).`));
        buf = buf.subarray(2);
        stage = 'reply';
        s.write(encodeConnect({ host, port }));
      }
      const n = socksReplyLength(buf);
      if (n === undefined || buf.length < n) return;
      const code = buf[1]!;
      if (code !== 0) return fail(new DevlaneError('cluster-unreachable', `The tunnel could not reach ${host}:${port} (${socksReplies[code] ?? `SOCKS reply ${code}`}). Check the registry address: it must be reachable from the bastion or agent.`));
      clearTimeout(timer);
      s.off('data', onData);
      s.removeAllListeners('error');
      if (buf.length > n) s.unshift(buf.subarray(n));
      resolve(s);
    };
    s.on('data', onData);
  });
}

/** One request; the answer's status is returned as is (registries use 404 as data). */
export async function httpCall(route: RegistryRoute, call: HttpCall): Promise<HttpAnswer> {
  const url = new URL(call.url);
  if (url.protocol !== 'http:') throw new DevlaneError('invalid-input', `Registry address ${call.url} is not http://. Registries inside the cluster are reached with plain HTTP through the tunnel.`);
  const port = Number(url.port || 80);
  const timeoutMs = call.timeoutMs ?? 15_000;
  const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  const socket = route.kind === 'socks' ? await socksConnect({ host: route.host ?? '127.0.0.1', port: route.port, ...(route.credentials ? { credentials: route.credentials } : {}) }, url.hostname, port, timeoutMs) : undefined;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = http.request(
      {
        method: call.method,
        host: url.hostname,
        port,
        path: `${url.pathname}${url.search}`,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}),
          ...call.headers,
        },
        // One connection per call: registry calls are rare, and a pooled socket through a tunnel that
        // reconnected would be dead. (Node only uses createConnection when no agent is given.)
        ...(socket ? { createConnection: () => socket } : { agent: false }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new DevlaneError('timeout', `The registry at ${url.host} did not answer ${call.method} ${url.pathname} within ${timeoutMs} ms.`)));
    req.on('error', (e) => reject(e instanceof DevlaneError ? e : new DevlaneError('cluster-unreachable', `Calling the registry at ${url.host} failed: ${e.message}.`, { cause: e })));
    req.end(body);
  });
}

/** Joins a base URL (which may carry a path, e.g. `/eureka`) and a path. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** Throws the registry's refusal as data unless the answer is a 2xx. */
export function expectOk(r: HttpAnswer, what: string): void {
  if (r.status >= 200 && r.status < 300) return;
  const hint = r.status === 403 || r.status === 401 ? ' The registry refused the credentials: check the ACL token.' : ' Check the registry address and that the registry is healthy.';
  throw new DevlaneError('registry-rejected', `The registry answered ${r.status} when ${what}: ${r.body.slice(0, 300) || '(no body)'}.${hint}`);
}
