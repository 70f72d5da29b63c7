import { Duplex, PassThrough } from 'node:stream';
import { CoreV1Api, KubeConfig, PortForward } from '@kubernetes/client-node';
import { DevlaneError } from '../../extension/core/errors';

/** A JVM in a pod, reached through the API server's port-forward (no local listener). */
export interface PodTarget {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace: string;
  readonly pod: string;
  readonly port: number;
}

export function loadKubeConfig(target: Pick<PodTarget, 'kubeconfig' | 'context'>): KubeConfig {
  const kc = new KubeConfig();
  if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
  else kc.loadFromDefault();
  if (target.context) kc.setCurrentContext(target.context);
  return kc;
}

/**
 * One port-forward websocket as a byte stream, for one JDWP connection. What the pod side reports on
 * the forward's error channel (nothing listening, pod gone) becomes the stream's error, so the caller
 * says that instead of a bare "connection closed".
 */
export async function openPodStream(target: PodTarget, kc: KubeConfig = loadKubeConfig(target)): Promise<Duplex> {
  const fromPod = new PassThrough();
  const toPod = new PassThrough();
  const errors = new PassThrough();
  let errorText = '';
  errors.on('data', (d: Buffer) => (errorText += d.toString('utf8')));
  let ws: { close(): void; on(ev: string, l: (...a: unknown[]) => void): void };
  try {
    const r = await new PortForward(kc).portForward(target.namespace, target.pod, [target.port], fromPod, errors, toPod);
    ws = (typeof r === 'function' ? r() : r) as unknown as typeof ws;
    if (!ws) throw new Error('no websocket');
  } catch (e) {
    const status = (e as { statusCode?: number; code?: number }).statusCode ?? (e as { code?: number }).code;
    throw new DevlaneError(status === 404 ? 'not-found' : 'cluster-unreachable', `Could not port-forward to ${target.namespace}/${target.pod}:${target.port}: ${e instanceof Error ? e.message : String(e)}. Check that the pod is running and that you may create pods/portforward.`, { cause: e });
  }
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      toPod.write(chunk, cb);
    },
    final(cb) {
      toPod.end();
      cb();
    },
    destroy(err, cb) {
      ws.close();
      cb(err);
    },
  });
  fromPod.on('data', (d: Buffer) => stream.push(d));
  const end = (cause?: unknown) => {
    if (stream.destroyed) return;
    const text = errorText.replace(/\s+/g, ' ').trim();
    // A JVM stops listening while a debugger is attached, so a refused port may mean either.
    stream.destroy(text ? new Error(`the pod side of the port-forward reported: ${text}. Nothing listens on port ${target.port} in the pod, or another debugger is attached (a JVM accepts one at a time).`) : cause instanceof Error ? cause : undefined);
  };
  ws.on('close', () => end());
  ws.on('error', (e) => end(e));
  return stream;
}

/** What is known about the pod behind a forward: its UID while it exists, or why it is gone. */
export type PodPresence = { readonly state: 'present'; readonly uid: string } | { readonly state: 'gone'; readonly why: string } | { readonly state: 'unknown'; readonly why: string };

/**
 * Whether the forward's pod is still there to re-attach to. A pod that is being deleted, or that was
 * replaced by another of the same name (`uid` differs), counts as gone; an API server that does not
 * answer is "unknown" (the caller may retry).
 */
export async function podPresence(kc: KubeConfig, target: Pick<PodTarget, 'namespace' | 'pod'>, uid?: string): Promise<PodPresence> {
  try {
    const pod = await kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: target.pod, namespace: target.namespace });
    const now = pod.metadata?.uid ?? '';
    if (uid && now !== uid) return { state: 'gone', why: `was replaced by a new pod of the same name` };
    if (pod.metadata?.deletionTimestamp) return { state: 'gone', why: 'is being deleted' };
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return { state: 'gone', why: `has ended (${pod.status.phase})` };
    return { state: 'present', uid: now };
  } catch (e) {
    const status = (e as { code?: number; statusCode?: number }).code ?? (e as { statusCode?: number }).statusCode;
    if (status === 404) return { state: 'gone', why: 'was deleted' };
    return { state: 'unknown', why: e instanceof Error ? e.message : String(e) };
  }
}
