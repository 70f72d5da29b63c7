/**
 * Pure translation of a pod spec into what the runner launches: env (with fieldRef, configMap and
 * secret references), $(VAR) expansion, the command line (or a known image's entrypoint), ports.
 * No I/O here: lookups of ConfigMaps and Secrets come in as functions.
 */
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';

export interface KnownImage {
  /** A host folder shown at `target` in the container: the image's content. */
  readonly content?: { readonly source: string; readonly target: string };
  /** The image's ENTRYPOINT and CMD: `command` replaces the first, `args` the second. */
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workingDir?: string;
}

export type ImageResolver = (image: string) => KnownImage | undefined;

export interface Lookups {
  configMap(namespace: string, name: string): Record<string, string> | undefined;
  secret(namespace: string, name: string): Record<string, string> | undefined;
}

export class SpecError extends Error {
  constructor(readonly reason: 'CreateContainerConfigError' | 'CreateContainerError', message: string) {
    super(message);
  }
}

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Kubernetes' $(VAR) expansion: known names are replaced, $$ escapes, unknown ones stay as written. */
export function expandVars(s: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '$' && s[i + 1] === '$') {
      out += '$';
      i++;
    } else if (c === '$' && s[i + 1] === '(') {
      const end = s.indexOf(')', i + 2);
      if (end < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, end);
      const v = env[name];
      out += v ?? `$(${name})`;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

/** A dotted fieldRef path ("metadata.labels['app']", "status.podIP", ...) read from the pod. */
export function fieldRef(pod: V1Pod, fieldPath: string): string | undefined {
  const m = pod.metadata ?? {};
  const mapKey = (prefix: string): string | undefined => {
    if (!fieldPath.startsWith(`${prefix}['`) || !fieldPath.endsWith("']")) return undefined;
    return fieldPath.slice(prefix.length + 2, -2);
  };
  const label = mapKey('metadata.labels');
  if (label !== undefined) return m.labels?.[label] ?? '';
  const annotation = mapKey('metadata.annotations');
  if (annotation !== undefined) return m.annotations?.[annotation] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return m.name;
    case 'metadata.namespace':
      return m.namespace;
    case 'metadata.uid':
      return m.uid;
    case 'spec.nodeName':
      return pod.spec?.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
      return pod.status?.podIP;
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((p) => p.ip).join(',');
    case 'status.hostIP':
      return pod.status?.hostIP;
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((p) => p.ip).join(',');
    default:
      return undefined;
  }
}

function envValue(pod: V1Pod, e: V1EnvVar, env: Record<string, string>, lookups: Lookups): string | undefined {
  const ns = pod.metadata?.namespace ?? 'default';
  if (e.value !== undefined) return expandVars(e.value, env);
  const from = e.valueFrom;
  if (!from) return '';
  if (from.fieldRef) {
    const v = fieldRef(pod, from.fieldRef.fieldPath);
    if (v === undefined) throw new SpecError('CreateContainerConfigError', `env ${e.name}: unsupported fieldRef ${from.fieldRef.fieldPath}`);
    return v;
  }
  const keyRef = from.configMapKeyRef ?? from.secretKeyRef;
  if (keyRef) {
    const kind = from.configMapKeyRef ? 'configmap' : 'secret';
    const data = from.configMapKeyRef ? lookups.configMap(ns, keyRef.name ?? '') : lookups.secret(ns, keyRef.name ?? '');
    const v = data?.[keyRef.key];
    if (v === undefined && !keyRef.optional) throw new SpecError('CreateContainerConfigError', `${kind} "${keyRef.name}" ${data ? `has no key "${keyRef.key}"` : 'not found'}`);
    return v;
  }
  if (from.resourceFieldRef) return undefined;
  return '';
}

/** The container's environment as a kubelet builds it (envFrom first, then env in order). */
export function containerEnv(pod: V1Pod, c: V1Container, lookups: Lookups): Record<string, string> {
  const ns = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = { PATH: defaultPath, HOSTNAME: podHostname(pod), HOME: '/root' };
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    if (!ref) continue;
    const data = src.configMapRef ? lookups.configMap(ns, ref.name ?? '') : lookups.secret(ns, ref.name ?? '');
    if (!data && !ref.optional) throw new SpecError('CreateContainerConfigError', `${src.configMapRef ? 'configmap' : 'secret'} "${ref.name}" not found`);
    for (const [k, v] of Object.entries(data ?? {})) env[`${src.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const v = envValue(pod, e, env, lookups);
    if (v !== undefined) env[e.name] = v;
  }
  return env;
}

export function podHostname(pod: V1Pod): string {
  return (pod.spec?.hostname ?? pod.metadata?.name ?? 'pod').slice(0, 63);
}

/**
 * argv for the container, as a container runtime builds it: `command` replaces the image's
 * ENTRYPOINT (and drops its CMD), `args` replace the CMD; $(VAR) references are expanded.
 */
export function containerArgv(c: V1Container, env: Readonly<Record<string, string>>, image: KnownImage | undefined): string[] {
  const argv = c.command ? [...c.command, ...(c.args ?? [])] : [...(image?.entrypoint ?? []), ...(c.args ?? image?.cmd ?? [])];
  if (argv.length === 0) {
    throw new SpecError('CreateContainerError', `container ${c.name}: no command given and image "${c.image}" has no known entrypoint (images are not pulled here: give a command)`);
  }
  return argv.map((a) => expandVars(a, env));
}

/**
 * Images are never pulled here, so a pull cannot fail by itself. An image whose registry host is
 * under the reserved `.invalid` top-level domain (RFC 2606: it resolves nowhere, ever) is one no
 * kubelet could pull either: the runner reports it as a kubelet does (ErrImagePull, then
 * ImagePullBackOff) instead of running the command. Returns the pull error, or undefined.
 */
export function imagePullError(image: string): string | undefined {
  const slash = image.indexOf('/');
  if (slash < 0) return undefined;
  const registry = image.slice(0, slash);
  // Only a first component with a dot, a port or "localhost" names a registry (else: docker.io).
  if (!registry.includes('.') && !registry.includes(':') && registry !== 'localhost') return undefined;
  const host = (registry.split(':')[0] ?? '').toLowerCase();
  if (!host.endsWith('.invalid')) return undefined;
  return `failed to pull and unpack image "${image}": failed to resolve reference "${image}": failed to do request: dial tcp: lookup ${host}: no such host`;
}

/** Back-off between pull attempts of an image that cannot be pulled: doubling from 1 s, at most 30 s (a kubelet: 10 s to 5 min). */
export function pullBackOffMs(attempt: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt - 1));
}

/** Image repository without registry port confusion, tag or digest: "docker.io/library/node:20" → "docker.io/library/node". */
export function imageRepository(image: string): string {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** Named or numbered container port → number (for probes). */
export function resolvePort(pod: V1Pod, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

export function declaredPorts(pod: V1Pod): number[] {
  return (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort));
}

export function podResolvConf(namespace: string, nameserver: string, domain: string): string {
  return `search ${namespace}.svc.${domain} svc.${domain} ${domain}\nnameserver ${nameserver}\noptions ndots:5\n`;
}

export function podHosts(pod: V1Pod): string {
  const ip = pod.status?.podIP;
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  if (ip) lines.push(`${ip}\t${podHostname(pod)}`);
  for (const h of pod.spec?.hostAliases ?? []) if (h.ip) lines.push(`${h.ip}\t${(h.hostnames ?? []).join(' ')}`);
  return `${lines.join('\n')}\n`;
}
