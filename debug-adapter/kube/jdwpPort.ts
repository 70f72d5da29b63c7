import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { execIn } from '../../extension/core/kube/exec';

/** Annotation a pod can carry to name its JDWP port (as Skaffold does for its debug transform). */
export const jdwpPortAnnotation = 'devlane.dev/jdwp-port';

/** The port of an `-agentlib:jdwp=…,address=[host:]PORT` option, if `text` holds one with server=y. */
export function jdwpPortFromOptions(text: string): number | undefined {
  for (const m of text.matchAll(/-(?:agentlib:jdwp=|Xrunjdwp:)([^\s"']+)/g)) {
    const opts = new Map(
      (m[1] ?? '').split(',').map((kv) => {
        const i = kv.indexOf('=');
        return [i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1)] as const;
      }),
    );
    if (opts.get('server') !== 'y') continue;
    const address = opts.get('address') ?? '';
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    if (Number.isInteger(port) && port > 0 && port < 65536) return port;
  }
  return undefined;
}

/**
 * Where a pod's JVM listens for a debugger, from the pod object alone: the annotation, a container
 * port named `jdwp`, then the agent option in JAVA_TOOL_OPTIONS / JDK_JAVA_OPTIONS or the command.
 * (What the spec cannot tell — options set inside the image — needs /proc/1 in the container.)
 */
export function jdwpPortOf(pod: V1Pod, container?: string): number | undefined {
  const annotated = Number(pod.metadata?.annotations?.[jdwpPortAnnotation]);
  if (Number.isInteger(annotated) && annotated > 0) return annotated;
  const containers = (pod.spec?.containers ?? []).filter((c) => !container || c.name === container);
  for (const c of containers) {
    const named = c.ports?.find((p) => p.name === 'jdwp');
    if (named) return named.containerPort;
  }
  for (const c of containers) {
    const env = (c.env ?? []).filter((e) => e.name === 'JAVA_TOOL_OPTIONS' || e.name === 'JDK_JAVA_OPTIONS' || e.name === '_JAVA_OPTIONS').map((e) => e.value ?? '');
    for (const text of [...env, [...(c.command ?? []), ...(c.args ?? [])].join(' ')]) {
      const port = jdwpPortFromOptions(text);
      if (port) return port;
    }
  }
  return undefined;
}

/** The port from a process's /proc/N/environ and /proc/N/cmdline (both NUL-separated). */
export function jdwpPortFromProc(environ: Buffer, cmdline: Buffer): number | undefined {
  const vars = environ.toString('utf8').split('\0');
  for (const name of ['JAVA_TOOL_OPTIONS=', 'JDK_JAVA_OPTIONS=', '_JAVA_OPTIONS=']) {
    const v = vars.find((x) => x.startsWith(name));
    const port = v === undefined ? undefined : jdwpPortFromOptions(v.slice(name.length));
    if (port) return port;
  }
  return jdwpPortFromOptions(cmdline.toString('utf8').split('\0').join(' '));
}

/**
 * The pod's JDWP port: from its spec when it says, else from the container's PID 1 (options baked
 * into the image's environment or entrypoint), read through exec. Undefined when neither tells.
 */
export async function discoverJdwpPort(kc: KubeConfig, pod: V1Pod, container?: string): Promise<number | undefined> {
  const fromSpec = jdwpPortOf(pod, container);
  if (fromSpec) return fromSpec;
  const namespace = pod.metadata?.namespace ?? 'default';
  const name = pod.metadata?.name ?? '';
  const target = container ?? pod.spec?.containers[0]?.name ?? '';
  const read = async (file: string) => (await execIn(kc, namespace, name, target, ['cat', file], { timeoutMs: 10_000 })).stdout;
  try {
    const [environ, cmdline] = await Promise.all([read('/proc/1/environ'), read('/proc/1/cmdline')]);
    return jdwpPortFromProc(environ, cmdline);
  } catch {
    // Images without `cat`, or no exec permission: the caller asks for the port.
    return undefined;
  }
}
