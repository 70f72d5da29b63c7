import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Emitter } from '../../extension/core/events';
import type { Logger } from '../../extension/core/log';
import { isAlive, readPid } from '../process-util';

export type ContainerState =
  | { readonly kind: 'waiting'; readonly reason: string; readonly message?: string }
  | { readonly kind: 'running'; readonly startedAt: string }
  | { readonly kind: 'terminated'; readonly exitCode: number; readonly signal?: number; readonly reason: string; readonly startedAt: string; readonly finishedAt: string };

export interface ContainerLaunch {
  readonly name: string;
  /** The final argv (command + args, $(VAR) already expanded). */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir: string;
  /** Pod network namespace file; undefined for hostNetwork pods. */
  readonly netnsPath: string | undefined;
  readonly hostname: string;
  readonly etcDir: string;
  readonly mounts: readonly { readonly source: string; readonly target: string; readonly readOnly: boolean }[];
  readonly restartPolicy: 'Always' | 'OnFailure' | 'Never';
  readonly terminationGraceSeconds: number;
}

export type ContainerEvent = { readonly type: 'started' | 'exited' | 'backoff' | 'failed'; readonly message: string };

const initScript = path.join(__dirname, 'container-init.sh');
/** Longer grace periods are cut to this: the cluster serves tests. */
export const maxGraceSeconds = 10;
const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** CRI log format: "<RFC3339Nano> <stream> <F|P> <text>", one line per line of output. */
class CriLogWriter {
  private pending = '';
  constructor(private readonly fd: number, private readonly stream: 'stdout' | 'stderr') {}
  write(chunk: Buffer): void {
    this.pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      this.emit(this.pending.slice(0, nl), 'F');
      this.pending = this.pending.slice(nl + 1);
    }
    // Very long lines go out in parts, as container runtimes split them.
    while (this.pending.length > 16 * 1024) {
      this.emit(this.pending.slice(0, 16 * 1024), 'P');
      this.pending = this.pending.slice(16 * 1024);
    }
  }
  flush(): void {
    if (this.pending) this.emit(this.pending, 'F');
    this.pending = '';
  }
  private emit(text: string, tag: 'F' | 'P'): void {
    fs.writeSync(this.fd, `${new Date().toISOString()} ${this.stream} ${tag} ${text}\n`);
  }
}

/**
 * One container of a pod: its processes, restarts per restartPolicy with a kubelet-like back-off,
 * and its CRI log files (current and previous) that kwok serves for `kubectl logs`.
 */
export class Container {
  private readonly changes = new Emitter<ContainerEvent>();
  readonly onEvent = this.changes.event;
  state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' };
  lastState: ContainerState | undefined;
  restartCount = 0;
  private child: ChildProcess | undefined;
  private stopping = false;
  private backoffTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly launch: ContainerLaunch,
    readonly dir: string,
    private readonly log: Logger,
  ) {
    fs.mkdirSync(dir, { recursive: true });
  }

  get pidFile(): string {
    return path.join(this.dir, 'pid');
  }
  get logFile(): string {
    return path.join(this.dir, 'current.log');
  }
  get previousLogFile(): string {
    return path.join(this.dir, 'previous.log');
  }
  /** Host PID of the container's PID 1, while it runs. */
  get pid(): number | undefined {
    const p = readPid(this.pidFile);
    return p !== undefined && isAlive(p) ? p : undefined;
  }

  start(): void {
    if (this.stopping || this.child) return;
    const l = this.launch;
    const rootfs = path.join(this.dir, 'rootfs');
    fs.mkdirSync(rootfs, { recursive: true });
    const mountsFile = path.join(this.dir, 'mounts');
    fs.writeFileSync(mountsFile, l.mounts.map((m) => `${m.source}\t${m.target}\t${m.readOnly ? 'ro' : 'rw'}\n`).join(''));
    fs.rmSync(this.pidFile, { force: true });
    if (this.restartCount > 0 && fs.existsSync(this.logFile)) fs.renameSync(this.logFile, this.previousLogFile);
    const logFd = fs.openSync(this.logFile, 'a');
    const out = new CriLogWriter(logFd, 'stdout');
    const err = new CriLogWriter(logFd, 'stderr');
    const unshare = ['/usr/bin/unshare', '--mount', '--uts', '--pid', '--fork', '--kill-child', '--propagation', 'private', '--', '/bin/sh', initScript, ...l.argv];
    const argv = l.netnsPath ? ['/usr/bin/nsenter', `--net=${l.netnsPath}`, ...unshare] : unshare;
    const env = {
      ...l.env,
      DEVLANE_PIDFILE: this.pidFile,
      DEVLANE_ROOTFS: rootfs,
      DEVLANE_MOUNTS: mountsFile,
      DEVLANE_ETC: l.etcDir,
      DEVLANE_HOSTNAME: l.hostname,
      DEVLANE_WORKDIR: l.workingDir,
    };
    const startedAt = new Date().toISOString();
    const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => out.write(d));
    child.stderr?.on('data', (d: Buffer) => err.write(d));
    this.state = { kind: 'waiting', reason: 'ContainerCreating' };
    // Started once container-init.sh has mounted everything and is about to exec the command: it
    // writes the PID file last.
    const started = setInterval(() => {
      if (!fs.existsSync(this.pidFile)) return;
      clearInterval(started);
      this.state = { kind: 'running', startedAt };
      this.changes.fire({ type: 'started', message: `Started container ${l.name}` });
    }, 20);
    this.exited = new Promise((resolve) => {
      let closed = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (closed) return;
        closed = true;
        clearInterval(started);
        out.flush();
        err.flush();
        fs.closeSync(logFd);
        fs.rmSync(this.pidFile, { force: true });
        this.child = undefined;
        const exitCode = code ?? 128 + (signal ? (signalNumbers[signal] ?? 0) : 0);
        const finishedAt = new Date().toISOString();
        const reason = exitCode === 0 ? 'Completed' : 'Error';
        this.state = { kind: 'terminated', exitCode, reason, startedAt, finishedAt, ...(signal ? { signal: signalNumbers[signal] ?? 0 } : {}) };
        this.log.info(`container ${l.name} exited with ${exitCode}`);
        this.changes.fire({ type: 'exited', message: `Container ${l.name} exited with code ${exitCode}` });
        resolve();
        if (!this.stopping) this.maybeRestart(exitCode, Date.parse(finishedAt) - Date.parse(startedAt));
      };
      // 'close' waits for the output pipes too, so the log holds everything the process wrote.
      child.on('close', finish);
      child.on('error', (e) => {
        this.log.error(`container ${l.name} could not start: ${e.message}`);
        finish(127, null);
      });
    });
  }

  private maybeRestart(exitCode: number, ranMs: number): void {
    const p = this.launch.restartPolicy;
    if (p === 'Never' || (p === 'OnFailure' && exitCode === 0)) return;
    // Back-off like a kubelet's (doubling, capped), but shorter: this cluster serves tests.
    const failures = ranMs > 60_000 ? 0 : this.restartCount;
    const delay = Math.min(30_000, 1_000 * 2 ** failures);
    this.lastState = this.state;
    this.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.launch.name}` };
    this.changes.fire({ type: 'backoff', message: `Back-off restarting failed container ${this.launch.name}` });
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (this.stopping) return;
      this.restartCount++;
      this.start();
    }, delay);
  }

  /** SIGTERM to the container's PID 1, SIGKILL after the grace period; resolves when it is gone. */
  async stop(graceMs = Math.min(this.launch.terminationGraceSeconds, maxGraceSeconds) * 1000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.backoffTimer);
    await this.kill(graceMs);
  }

  /** Ends the current process (a failed liveness probe): the restart policy decides what follows. */
  async kill(graceMs = Math.min(this.launch.terminationGraceSeconds, maxGraceSeconds) * 1000): Promise<void> {
    const child = this.child;
    if (!child) return;
    const pid = this.pid;
    const signal = (sig: NodeJS.Signals) => {
      try {
        // PID 1 of a namespace only gets signals it handles; SIGKILL from outside always works
        // and takes every other process of the namespace with it.
        if (pid !== undefined) process.kill(pid, sig);
        else child.kill(sig);
      } catch {
        // gone
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => {
      signal('SIGKILL');
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
