/**
 * An interactive shell in a container over exec with a TTY: bash when the image has it, sh
 * otherwise. Every command line typed is written to the audit log; so are the opening (with whether
 * the pod is a clone and whether the user confirmed) and the end.
 */
import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';
import { CommandLineExtractor, type AuditLog, type AuditTarget } from './audit';
import { ExecRefused, openExec, type ExecTarget } from '../kube/exec';
import { forbidden } from './kubeErrors';
import { exitCodeOf } from '../kube/execStatus';

/** `exec`s bash if the image has it, else sh: one round trip, and `sh` exists in nearly every image. */
export const shellCommand = ['sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi'];

/** A stdout the exec library treats as a terminal: it reads columns/rows and listens for 'resize'. */
class TerminalSink extends Writable {
  columns = 80;
  rows = 24;
  constructor(private readonly onData: (text: string) => void) {
    super({ decodeStrings: true });
  }
  private readonly decoder = new TextDecoder('utf-8');
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.onData(this.decoder.decode(chunk, { stream: true }));
    cb();
  }
}

export interface ShellOptions {
  readonly target: ExecTarget;
  readonly audit: AuditLog;
  readonly auditTarget: AuditTarget;
  readonly isClone: boolean;
  readonly confirmed: boolean;
  readonly columns?: number;
  readonly rows?: number;
}

export class PodShell implements Disposable {
  private readonly output = new Emitter<string>();
  readonly onOutput = this.output.event;
  private readonly exits = new Emitter<{ code?: number; error?: DevlaneError }>();
  readonly onExit = this.exits.event;
  private readonly stdin = new PassThrough();
  private readonly sink: TerminalSink & EventEmitter;
  private readonly extractor = new CommandLineExtractor();
  private ws?: { close(): void };
  private exited = false;

  constructor(private readonly kc: KubeConfig, private readonly opts: ShellOptions, private readonly log: Logger) {
    this.sink = new TerminalSink((t) => this.output.fire(t));
    this.sink.columns = opts.columns ?? 80;
    this.sink.rows = opts.rows ?? 24;
  }

  async open(): Promise<void> {
    const t = this.opts.target;
    await this.opts.audit.write(this.opts.auditTarget, { event: 'open', clone: this.opts.isClone, confirmed: this.opts.confirmed, shell: 'bash|sh' });
    let exitCode: number | undefined;
    try {
      const ws = await openExec(this.kc, t, shellCommand, {
        stdout: this.sink,
        stderr: null,
        stdin: this.stdin,
        tty: true,
        onStatus: (s) => {
          exitCode = exitCodeOf(s);
          if (exitCode === undefined && s.status !== 'Success') this.log.warn(`shell in ${t.pod}/${t.container}: ${s.message ?? s.reason ?? 'failed'}`);
        },
      });
      this.ws = ws;
      ws.on('close', () => this.exit(exitCode));
    } catch (e) {
      const code = e instanceof ExecRefused ? e.statusCode : undefined;
      const err =
        code === 403
          ? forbidden({ verb: 'create', resource: 'pods/exec', namespace: t.namespace, name: t.pod }, e)
          : code === 404
            ? new DevlaneError('not-found', `Pod "${t.pod}" is gone from namespace "${t.namespace}".`, { cause: e })
            : new DevlaneError('no-shell', `Cannot open a shell in ${t.pod}/${t.container}: ${e instanceof Error ? e.message : String(e)}. The image may have no sh (distroless); use an ephemeral debug container.`, { cause: e });
      await this.opts.audit.write(this.opts.auditTarget, { event: 'close' });
      this.exited = true;
      throw err;
    }
  }

  /** What the user typed (from the terminal): audited, then sent. */
  input(data: string): void {
    if (this.exited) return;
    for (const c of this.extractor.push(data)) void this.opts.audit.write(this.opts.auditTarget, { event: 'command', command: c.command, approximate: c.approximate });
    this.stdin.write(data);
  }

  resize(columns: number, rows: number): void {
    if (columns === this.sink.columns && rows === this.sink.rows) return;
    this.sink.columns = columns;
    this.sink.rows = rows;
    this.sink.emit('resize');
  }

  private exit(code: number | undefined): void {
    if (this.exited) return;
    this.exited = true;
    void this.opts.audit.write(this.opts.auditTarget, { event: 'close', ...(code !== undefined ? { exitCode: code } : {}) });
    this.exits.fire(code !== undefined ? { code } : {});
  }

  dispose(): void {
    this.stdin.end();
    this.ws?.close();
    this.exit(undefined);
    this.output.dispose();
    this.exits.dispose();
  }
}
