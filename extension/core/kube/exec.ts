/** Running a command in a pod's container through the exec subresource (shared by observe and clones). */
import { PassThrough, Writable, type Readable } from 'node:stream';
import WebSocket from 'ws';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { exitCodeOf } from './execStatus';

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
