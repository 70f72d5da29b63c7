/** Running a command in a pod's container through the exec subresource (shared by observe and clones). */
import { PassThrough, Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { exitCodeOf } from './execStatus';
import { DevlaneError } from '../errors';
import { classifyApiError } from './apiErrors';

export interface ExecTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
}

export interface ExecIo {
  readonly stdout: Writable;
  readonly stderr: Writable | null;
  readonly stdin: Readable | null;
  readonly tty: boolean;
  readonly onStatus?: (s: V1Status) => void;
}

/** An exec refused before it started: the HTTP status of the upgrade (403 forbidden, 404 pod gone, 400 no container). */
export class ExecRefused extends Error {
  override readonly name = 'ExecRefused';
  constructor(readonly statusCode: number | undefined, message: string) {
    super(message);
  }
}

/**
 * Opens an exec websocket. client-node's default handler would end process.stdout when the server
 * closes a stream and hides the HTTP status of a refused upgrade; this one is given the real streams
 * and records the status so a 403 can be told from a missing pod.
 */
export async function openExec(kc: KubeConfig, t: ExecTarget, command: string[], io: ExecIo): Promise<WebSocket> {
  let refusedWith: number | undefined;
  const factory = (uri: string, protocols: string[], opts: WebSocket.ClientOptions) => {
    const ws = new WebSocket(uri, protocols, opts);
    ws.on('unexpected-response', (_req, res) => {
      refusedWith = res.statusCode;
      // Ending the handshake here makes the library reject its connect promise.
      ws.terminate();
    });
    return ws;
  };
  const handler = new WebSocketHandler(kc, factory, { stdin: io.stdin ?? new PassThrough(), stdout: io.stdout, stderr: io.stderr ?? new PassThrough() });
  try {
    return await new Exec(kc, handler).exec(t.namespace, t.pod, t.container, command, io.stdout, io.stderr, io.stdin, io.tty, io.onStatus);
  } catch (e) {
    const message = (e as { message?: string } | null)?.message ?? String(e);
    throw new ExecRefused(refusedWith, message);
  }
}

export interface ExecResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  /** undefined when the command could not be started (no such executable) or the status was lost. */
  readonly exitCode?: number;
  readonly status?: V1Status;
  /** Set when the exec request itself was refused. */
  readonly refused?: ExecRefused;
}

/** Runs a command to its end (bounded) and returns what it wrote; never throws for the command's own failure. */
export async function execCollect(kc: KubeConfig, t: ExecTarget, command: string[], timeoutMs = 30_000): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _e, cb) {
        into.push(Buffer.from(chunk));
        cb();
      },
    });
  let status: V1Status | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ws = await openExec(kc, t, command, { stdout: sink(out), stderr: sink(err), stdin: null, tty: false, onStatus: (s) => (status = s) });
    await new Promise<void>((resolve) => {
      // The status callback is not always called (client-node #465): the socket's close ends it too.
      if (ws.readyState === WebSocket.CLOSED) resolve();
      ws.on('close', () => resolve());
      timer = setTimeout(() => {
        ws.close();
        resolve();
      }, timeoutMs);
    });
  } catch (e) {
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), refused: e instanceof ExecRefused ? e : new ExecRefused(undefined, String(e)) };
  } finally {
    clearTimeout(timer);
  }
  const exitCode = exitCodeOf(status);
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), ...(exitCode !== undefined ? { exitCode } : {}), ...(status ? { status } : {}) };
}

/** What a command run by execIn left: it ran to its end (a refused exec throws instead). */
export interface ExecOutcome {
  readonly stdout: Buffer;
  readonly stderr: string;
  /** The exit code when the server reported one; undefined when it did not say. */
  readonly exitCode: number | undefined;
  readonly status: V1Status | undefined;
}

export interface ExecOptions {
  /**
   * Bytes for the command's stdin, sent in order with flow control. Stdin is never closed:
   * port-forward/exec protocols before v5 cannot half-close it and some kubelets never close it
   * towards the child, so commands must read a known length (see deploy's framing).
   */
  readonly input?: AsyncIterable<Buffer> | Iterable<Buffer>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called as stdout arrives (progress, or lines the caller waits for). */
  readonly onStdout?: (chunk: Buffer) => void;
  /** Called with the running total of input bytes handed to the websocket. */
  readonly onInputSent?: (bytes: number) => void;
}

const stdinChannel = 0;
/** Keep at most this much queued in the websocket before waiting for it to drain. */
const highWater = 4 * 1024 * 1024;
/** Websocket message payload; some API servers cap messages at 1 MiB, so stay well under. */
const frameSize = 512 * 1024;

/**
 * Runs a command in a container and collects its output. Resolves when the server closes the
 * stream (the command ended); the websocket is closed on timeout or abort. A remote command is
 * not killed by closing the websocket (client-node #2532), so commands given here must end by
 * themselves.
 */
export async function execIn(kc: KubeConfig, namespace: string, pod: string, container: string, command: readonly string[], opts: ExecOptions = {}): Promise<ExecOutcome> {
  const out: Buffer[] = [];
  let err = '';
  let status: V1Status | undefined;
  const stdout = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      opts.onStdout?.(chunk);
      cb();
    },
  });
  const stderr = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (err.length < 64 * 1024) err += chunk.toString('utf8');
      cb();
    },
  });
  // A stdin stream that never emits: it makes the server attach stdin, while the bytes go
  // straight onto the websocket below with flow control (client-node's own pump has none).
  const idleStdin = opts.input ? new Readable({ read() {} }) : null;
  if (opts.signal?.aborted) throw new DevlaneError('cancelled', 'Cancelled.');
  let ws: WebSocket;
  try {
    ws = await openExec(kc, { namespace, pod, container }, [...command], { stdout, stderr, stdin: idleStdin, tty: false, onStatus: (s) => (status = s) });
  } catch (e) {
    // ExecRefused carries the upgrade's HTTP status, which classifyApiError reads.
    throw classifyApiError(e, { verb: 'create', resource: 'pods/exec', namespace, name: pod });
  }

  return new Promise<ExecOutcome>((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (e?: DevlaneError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      idleStdin?.destroy();
      if (e) {
        try {
          ws.close();
        } catch {
          // already closing
        }
        reject(e);
      } else resolve({ stdout: Buffer.concat(out), stderr: err, exitCode: exitCodeOf(status), status });
    };
    const onAbort = () => finish(new DevlaneError('cancelled', 'Cancelled.'));
    opts.signal?.addEventListener('abort', onAbort);
    if (opts.timeoutMs) {
      timer = setTimeout(() => finish(new DevlaneError('timeout', `"${command[0]}" in ${namespace}/${pod} did not finish within ${Math.round(opts.timeoutMs! / 1000)} s.`)), opts.timeoutMs);
    }
    ws.on('close', () => finish());
    ws.on('error', (e: Error) => finish(new DevlaneError('cluster-unreachable', `The exec stream to ${namespace}/${pod} failed: ${e.message}. Retry.`, { cause: e })));
    if (opts.input) {
      void pump(ws, opts.input, () => done, opts.onInputSent).catch((e: unknown) => {
        const err = e instanceof DevlaneError ? e : new DevlaneError('cluster-unreachable', `Sending to ${namespace}/${pod} failed: ${e instanceof Error ? e.message : String(e)}.`, { cause: e });
        // The command may have stopped reading on purpose and said why on stdout: let the close
        // deliver that, and only fail if the stream does not end soon.
        if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) setTimeout(() => finish(err), 5_000).unref?.();
        else finish(err);
      });
    }
  });
}

async function pump(ws: WebSocket, input: AsyncIterable<Buffer> | Iterable<Buffer>, stopped: () => boolean, onSent?: (bytes: number) => void): Promise<void> {
  let total = 0;
  for await (const chunk of input) {
    if (stopped()) return;
    // One channel byte, then data.
    for (let off = 0; off < chunk.length; off += frameSize) {
      const part = chunk.subarray(off, Math.min(chunk.length, off + frameSize));
      const frame = Buffer.allocUnsafe(part.length + 1);
      frame[0] = stdinChannel;
      part.copy(frame, 1);
      if (ws.readyState !== ws.OPEN) throw new Error('the exec stream closed before all input was sent');
      await new Promise<void>((resolve, reject) => {
        ws.send(frame, (e) => (e ? reject(e) : resolve()));
        // Waiting for every send callback would serialize on the socket; only wait when much is queued.
        if (ws.bufferedAmount < highWater) resolve();
      });
      total += part.length;
      onSent?.(total);
    }
  }
}
