import * as crypto from 'node:crypto';
import type { SocksCredentials } from './registry/http';

/**
 * How a program started from VS Code is pointed at the tunnel: JVM system properties for Java (and
 * Devlane's Java agent when the tunnel requires authentication), the conventional proxy variables
 * for everything else. Pure functions (but for the credentials'
 * randomness): the VS Code layer applies them to debug configurations and terminals.
 */

export interface ProxyEndpoints {
  readonly host?: string;
  readonly socksPort: number;
  /** The HTTP proxy (CONNECT and absolute-form); without it HTTP_PROXY falls back to SOCKS. */
  readonly httpPort?: number;
  /** What both proxies require (SOCKS5 username/password and HTTP Basic), when authentication is on. Never logged. */
  readonly credentials?: SocksCredentials;
}

/**
 * Fresh credentials for one tunnel: 192 random bits in the password, a random user name so two
 * tunnels never share one. base64url and hex need no escaping in a URL and stay far below SOCKS5's
 * 255-byte limit; neither contains ':', which HTTP Basic reserves.
 */
export function newProxyCredentials(): SocksCredentials {
  return { username: `devlane-${crypto.randomBytes(4).toString('hex')}`, password: crypto.randomBytes(24).toString('base64url') };
}

/** Local destinations never go through the tunnel. */
export const LOCAL_NO_PROXY = ['localhost', '127.0.0.1', '::1', '.localhost'] as const;

function mergeList(existing: string | undefined, add: readonly string[]): string {
  const items = (existing ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const a of add) if (!items.includes(a)) items.push(a);
  return items.join(',');
}

/** `user:pass@` for a proxy URL, percent-encoded so any character survives the URL parsers of curl, Go, Python and Node. */
function userInfo(c: SocksCredentials | undefined): string {
  return c ? `${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@` : '';
}

/**
 * HTTP_PROXY / HTTPS_PROXY / ALL_PROXY (both cases, as Go, Python, curl and Node libraries differ)
 * and a NO_PROXY that keeps loopback local. `socks5h` makes clients send names unresolved, so
 * cluster names are resolved on the far side. With authentication on, the URLs carry the
 * credentials: a process's environment is readable only by its own user (unlike its command line).
 * Variables the user already set are kept.
 */
export function proxyEnvironment(p: ProxyEndpoints, existing: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const host = p.host ?? '127.0.0.1';
  const auth = userInfo(p.credentials);
  const all = `socks5h://${auth}${host}:${p.socksPort}`;
  const http = p.httpPort !== undefined ? `http://${auth}${host}:${p.httpPort}` : all;
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

/**
 * The variable Devlane's Java agent (agent/, dist/devlane-agent.jar) reads the tunnel's SOCKS
 * endpoint and credentials from. The JDK's SOCKS client sends a username/password only from an
 * `Authenticator` — it ignores `-Djava.net.socks.username/password` (checked with JDK 17.0.15 and
 * Temurin 25: the proxy received `root` and an empty password) — so the agent installs one. The
 * environment, unlike vmArgs and system properties, is not shown to other users by `ps` or `jcmd`.
 */
export const JAVA_AGENT_ENV = 'DEVLANE_PROXY_AUTH';

/**
 * The agent's input: `host=…&port=…&username=…&password=…`, form-encoded, which the agent decodes
 * with the JDK's own URLDecoder (no JSON parser in a dependency-free agent).
 */
export function javaAgentEnvValue(p: ProxyEndpoints & { credentials: SocksCredentials }): string {
  return new URLSearchParams({ host: p.host ?? '127.0.0.1', port: String(p.socksPort), username: p.credentials.username, password: p.credentials.password }).toString();
}

/**
 * The variable that turns on the agent's cluster names and NIO routing (not secret): the tunnel's
 * SOCKS endpoint and the cluster's DNS domains. Names under these domains get stand-in addresses in
 * the JVM, and SocketChannels to them (java.net.http.HttpClient, Netty, Kafka, gRPC) go through the
 * tunnel, which the SOCKS properties alone do not do.
 */
export const JAVA_TUNNEL_ENV = 'DEVLANE_TUNNEL';

/** Kubernetes' default: `svc.cluster.local` names and their `<service>.<namespace>.svc` short forms. */
export const CLUSTER_DOMAINS: readonly string[] = ['cluster.local', 'svc'];

export function javaTunnelEnvValue(p: ProxyEndpoints, domains: readonly string[] = CLUSTER_DOMAINS): string {
  return new URLSearchParams({ host: p.host ?? '127.0.0.1', port: String(p.socksPort), domains: domains.join(',') }).toString();
}

/** `-javaagent:` for vmArgs given as one string, quoted when the extension's folder has a space (the Java extension splits the string like a shell). */
function javaAgentArg(jar: string, inString: boolean): string {
  const arg = `-javaagent:${jar}`;
  return inString && /\s/.test(arg) ? `"${arg}"` : arg;
}

const JAVA_TYPES = new Set(['java']);
/** Devlane's own JDWP attach runs no program (it reaches the JVM through the Kubernetes API): nothing to point at the tunnel. */
const NOT_A_PROGRAM = new Set(['devlane']);
const JVM_ARG_KEYS = ['vmArgs'] as const;

/** Whether the session runs a program the tunnel can be added to. */
export function runsProgram(config: Pick<DebugConfig, 'type'>): boolean {
  return !NOT_A_PROGRAM.has(config.type);
}

export type DebugConfig = { type: string; request?: string; name?: string; env?: Record<string, string | null | undefined>; vmArgs?: string | string[]; [k: string]: unknown };

/**
 * The debug/run configuration with the proxy added, for every type but Devlane's own attach:
 * - Java: `-javaagent:<javaAgentJar>` and the SOCKS system properties in vmArgs (unless the user
 *   set their own socksProxyHost), the agent's tunnel endpoint in `env` (merged with the user's
 *   env); with authentication on, also the credentials for the agent in `env`, never on the command line.
 * - everything else: the proxy variables in `env`.
 * Does not modify its input.
 */
export function injectProxy(config: DebugConfig, p: ProxyEndpoints, javaAgentJar: string, clusterDomains: readonly string[] = CLUSTER_DOMAINS): DebugConfig {
  if (!runsProgram(config)) return config;
  if (JAVA_TYPES.has(config.type)) {
    const key = JVM_ARG_KEYS[0];
    const current = config[key];
    const text = Array.isArray(current) ? current.join(' ') : current ?? '';
    if (text.includes('-DsocksProxyHost')) return config;
    const credentials = p.credentials;
    const add = [javaAgentArg(javaAgentJar, !Array.isArray(current)), ...javaProxyArgs(p)];
    const vmArgs = Array.isArray(current) ? [...current, ...add] : [text, ...add].filter(Boolean).join(' ');
    const env: Record<string, string | null | undefined> = { ...(config.env ?? {}), [JAVA_TUNNEL_ENV]: javaTunnelEnvValue(p, clusterDomains) };
    if (credentials) env[JAVA_AGENT_ENV] = javaAgentEnvValue({ ...p, credentials });
    else delete env[JAVA_AGENT_ENV];
    return { ...config, [key]: vmArgs, env };
  }
  const env = { ...(config.env ?? {}) };
  const known: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') known[k] = v;
  return { ...config, env: { ...env, ...proxyEnvironment(p, known) } };
}

/** The log line for an injection: where and whether authentication is on, never the credentials. */
export function describeInjection(config: DebugConfig, p: ProxyEndpoints): string {
  const host = p.host ?? '127.0.0.1';
  const where = `SOCKS ${host}:${p.socksPort}${p.httpPort !== undefined ? `, HTTP ${host}:${p.httpPort}` : ''}`;
  const agent = JAVA_TYPES.has(config.type) ? `, with the Devlane Java agent for cluster names and NIO${p.credentials ? ' and the credentials' : ''}` : '';
  return `adding the tunnel proxy (${where}; authentication ${p.credentials ? 'on' : 'off'}${agent}) to the ${config.type} session "${config.name ?? ''}"`;
}
