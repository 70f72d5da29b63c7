import * as http from 'node:http';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { openPodStream } from '../../../debug-adapter/kube/podStream';

/**
 * One HTTP request to a port of a pod, through the API server's port-forward: no local listener,
 * no route into the cluster needed. What a developer uses to poke their clone ("does it stop at
 * my breakpoint?") and what a tagged request of a lane will travel on.
 */

export interface PodHttpRequest {
  readonly method?: string;
  /** Path and query, starting with "/". */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** How long to wait for the answer; a JVM stopped at a breakpoint answers only when resumed. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface PodHttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The body was longer than what is kept (maxBody). */
  readonly truncated: boolean;
  readonly ms: number;
}

const maxBody = 1024 * 1024;

/** "GET /order?item=pear", "/healthz" or "POST /x": the method (default GET) and the path. */
export function parseRequestLine(line: string): { method: string; path: string } {
  const parts = line.trim().split(/\s+/);
  const [first = '', second] = parts;
  const method = second !== undefined ? first.toUpperCase() : 'GET';
  const path = second ?? first;
  if (parts.length > 2 || !/^[A-Z]+$/.test(method) || !path.startsWith('/')) {
    throw new DevlaneError('invalid-input', `"${line}" is not a request: write a path such as /order?item=pear, optionally after a method (GET /healthz, POST /orders).`);
  }
  return { method, path };
}

/** The port to send HTTP to: a container port named http*, else the only declared one. */
export function httpPortOf(pod: V1Pod, container?: string): number | undefined {
  const ports = (pod.spec?.containers ?? []).filter((c) => !container || c.name === container).flatMap((c) => c.ports ?? []);
  const named = ports.find((p) => p.name?.startsWith('http'));
  return named?.containerPort ?? (ports.length === 1 ? ports[0]?.containerPort : undefined);
}

export async function sendToPod(kc: KubeConfig, target: { namespace: string; pod: string; port: number }, req: PodHttpRequest): Promise<PodHttpResponse> {
  const started = Date.now();
  const stream = await openPodStream({ namespace: target.namespace, pod: target.pod, port: target.port }, kc);
  const where = `${target.namespace}/${target.pod}:${target.port}`;
  return new Promise<PodHttpResponse>((resolve, reject) => {
    // A ClientRequest made directly, not through http.request: VS Code's extension host patches
    // http.request for its proxy support and gives the request an agent of its own, which would
    // ignore createConnection and look the pod's name up in DNS.
    const request = new http.ClientRequest(
      {
        method: req.method ?? 'GET',
        path: req.path,
        host: target.pod,
        headers: { ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}), ...req.headers },
        createConnection: () => stream,
        timeout: req.timeoutMs ?? 300_000,
        ...(req.signal ? { signal: req.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on('data', (d: Buffer) => {
          if (size < maxBody) chunks.push(d.subarray(0, maxBody - size));
          truncated ||= size + d.length > maxBody;
          size += d.length;
        });
        res.on('end', () => {
          stream.destroy();
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers, body: Buffer.concat(chunks).toString('utf8'), truncated, ms: Date.now() - started });
        });
        res.on('error', (e) => reject(failure(e, where)));
      },
    );
    request.on('timeout', () => request.destroy(new DevlaneError('timeout', `${where} did not answer within ${Math.round((req.timeoutMs ?? 300_000) / 1000)} s. Is the app stopped at a breakpoint, or not listening on port ${target.port}?`)));
    request.on('error', (e) => {
      stream.destroy();
      reject(req.signal?.aborted ? new DevlaneError('cancelled', 'The request was cancelled.') : failure(e, where));
    });
    request.end(req.body);
  });
}

function failure(e: unknown, where: string): DevlaneError {
  if (e instanceof DevlaneError) return e;
  return new DevlaneError('cluster-unreachable', `The request to ${where} failed: ${e instanceof Error ? e.message : String(e)}.`, { cause: e });
}
