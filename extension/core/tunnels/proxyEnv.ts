/**
 * How a program started from VS Code is pointed at the tunnel: JVM system properties for Java, the
 * conventional proxy variables for everything else. Pure functions: the VS Code layer applies them to
 * debug configurations and terminals.
 */

export interface ProxyEndpoints {
  readonly host?: string;
  readonly socksPort: number;
  /** The HTTP proxy (CONNECT and absolute-form); without it HTTP_PROXY falls back to SOCKS. */
  readonly httpPort?: number;
}

/** Local destinations never go through the tunnel. */
export const LOCAL_NO_PROXY = ['localhost', '127.0.0.1', '::1', '.localhost'] as const;

function mergeList(existing: string | undefined, add: readonly string[]): string {
  const items = (existing ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const a of add) if (!items.includes(a)) items.push(a);
  return items.join(',');
}

/**
 * HTTP_PROXY / HTTPS_PROXY / ALL_PROXY (both cases, as Go, Python, curl and Node libraries differ)
 * and a NO_PROXY that keeps loopback local. `socks5h` makes clients send names unresolved, so
 * cluster names are resolved on the far side. Variables the user already set are kept.
 */
export function proxyEnvironment(p: ProxyEndpoints, existing: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const host = p.host ?? '127.0.0.1';
  const http = p.httpPort !== undefined ? `http://${host}:${p.httpPort}` : `socks5h://${host}:${p.socksPort}`;
  const all = `socks5h://${host}:${p.socksPort}`;
  const wanted: Record<string, string> = { HTTP_PROXY: http, HTTPS_PROXY: http, ALL_PROXY: all };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(wanted)) {
    const lower = k.toLowerCase();
    const mine = existing[k] ?? existing[lower];
    out[k] = mine ?? v;
    out[lower] = mine ?? v;
  }
  const noProxy = mergeList(existing.NO_PROXY ?? existing.no_proxy, LOCAL_NO_PROXY);
  out.NO_PROXY = noProxy;
  out.no_proxy = noProxy;
  return out;
}

/** JVM options: java.net.Socket (and HttpURLConnection) go through SOCKS; loopback stays direct. */
export function javaProxyArgs(p: ProxyEndpoints): string[] {
  const host = p.host ?? '127.0.0.1';
  return [`-DsocksProxyHost=${host}`, `-DsocksProxyPort=${p.socksPort}`, '-DsocksNonProxyHosts=localhost|127.*|[::1]'];
}

const JAVA_TYPES = new Set(['java']);
const JVM_ARG_KEYS = ['vmArgs'] as const;

export type DebugConfig = { type: string; request?: string; name?: string; env?: Record<string, string | null | undefined>; vmArgs?: string | string[]; [k: string]: unknown };

/**
 * The debug/run configuration with the proxy added: vmArgs for Java (unless the user set their own
 * socksProxyHost), env for every other type. Does not modify its input.
 */
export function injectProxy(config: DebugConfig, p: ProxyEndpoints): DebugConfig {
  if (JAVA_TYPES.has(config.type)) {
    const key = JVM_ARG_KEYS[0];
    const current = config[key];
    const text = Array.isArray(current) ? current.join(' ') : current ?? '';
    if (text.includes('-DsocksProxyHost')) return config;
    const add = javaProxyArgs(p);
    const vmArgs = Array.isArray(current) ? [...current, ...add] : [text, ...add].filter(Boolean).join(' ');
    return { ...config, [key]: vmArgs };
  }
  const env = { ...(config.env ?? {}) };
  const known: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') known[k] = v;
  return { ...config, env: { ...env, ...proxyEnvironment(p, known) } };
}
