import * as crypto from 'node:crypto';
import { DevlaneError } from '../errors';
import type { SocksCredentials } from './registry/http';

/**
 * How a program started from VS Code is pointed at the tunnel: JVM system properties for Java, the
 * conventional proxy variables for everything else. Pure functions (but for the credentials'
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
 * Why a Java session cannot be pointed at an authenticating tunnel, or undefined when it can.
 * The JDK's SOCKS client takes a username/password only from an `Authenticator` the program
 * installs; without one it sends `user.name` and an empty password. `-Djava.net.socks.username`
 * and `-Djava.net.socks.password` are not read (checked with JDK 17.0.15 and Temurin 25: the
 * proxy received `root` and an empty password). Putting the password on the command line would
 * also show it to every local user (`ps`), which is what authentication is there to prevent.
 */
export function proxyInjectionProblem(config: DebugConfig, p: ProxyEndpoints): DevlaneError | undefined {
  if (!p.credentials || !JAVA_TYPES.has(config.type)) return undefined;
  return new DevlaneError(
    'invalid-input',
    `The tunnel was not added to the Java session "${config.name ?? ''}": the tunnel's proxies require authentication (devlane.tunnel.proxyAuth), and a JVM cannot take SOCKS credentials from its options — the JDK only sends them from an Authenticator the program installs. Turn devlane.tunnel.proxyAuth off and reconnect to debug Java through the tunnel, or set the proxy and an Authenticator in the program itself.`,
    { actions: [{ title: 'Open Setting', command: 'workbench.action.openSettings', args: ['devlane.tunnel.proxyAuth'] }] },
  );
}

/**
 * The debug/run configuration with the proxy added: vmArgs for Java (unless the user set their own
 * socksProxyHost, or the tunnel requires credentials the JVM cannot send: see
 * proxyInjectionProblem), env for every other type. Does not modify its input.
 */
export function injectProxy(config: DebugConfig, p: ProxyEndpoints): DebugConfig {
  if (!runsProgram(config)) return config;
  if (JAVA_TYPES.has(config.type)) {
    if (proxyInjectionProblem(config, p)) return config;
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

/** The log line for an injection: where and whether authentication is on, never the credentials. */
export function describeInjection(config: DebugConfig, p: ProxyEndpoints): string {
  const host = p.host ?? '127.0.0.1';
  const where = `SOCKS ${host}:${p.socksPort}${p.httpPort !== undefined ? `, HTTP ${host}:${p.httpPort}` : ''}`;
  return `adding the tunnel proxy (${where}; authentication ${p.credentials ? 'on' : 'off'}) to the ${config.type} session "${config.name ?? ''}"`;
}
