/**
 * Packet capture in a pod: tcpdump runs in a container that shares the pod's network (every
 * container does), prints one line per packet (parsed into columns) and writes a pcap file beside
 * it that is downloaded when asked. tcpdump comes from the image, or from a capture sidecar.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { Emitter } from '../events';
import type { Logger } from '../log';
import type { Session, SessionStatus } from '../sessions/session';
import { execCollect, openExec, type ExecResult, type ExecTarget } from '../kube/exec';
import { forbidden } from './kubeErrors';
import { LineSplitter } from './logModel';
import { parseTcpdumpLine, type PacketRow } from './tcpdumpLine';

/**
 * Container names checked first for tcpdump: a capture sidecar added by a clone option or by hand.
 * Every other container of the pod is tried after them.
 */
export const captureSidecarNames = ['devlane-capture', 'tcpdump', 'netshoot'];

export const enableSidecarHelp =
  'No container in this pod has tcpdump. Clone the pod with the "capture" option (it adds a devlane-capture sidecar with tcpdump that shares the pod\'s network), or add a sidecar container that has tcpdump (e.g. image nicolaka/netshoot, command ["sleep","infinity"]) to the pod spec.';

/** The order in which containers are asked for tcpdump. */
export function captureCandidates(pod: V1Pod): string[] {
  const names = [...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'), ...(pod.spec?.containers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].map((c) => c.name);
  return [...names.filter((n) => captureSidecarNames.includes(n)), ...names.filter((n) => !captureSidecarNames.includes(n))];
}

function refusedError(r: ExecResult, t: ExecTarget): DevlaneError | undefined {
  if (!r.refused) return undefined;
  if (r.refused.statusCode === 403) return forbidden({ verb: 'create', resource: 'pods/exec', namespace: t.namespace, name: t.pod });
  if (r.refused.statusCode === 404) return new DevlaneError('not-found', `Pod "${t.pod}" is gone from namespace "${t.namespace}".`);
  return undefined;
}

/** Finds a container where `tcpdump --version` runs; a 403 stops the search (no container will do better). */
export async function findTcpdump(kc: KubeConfig, namespace: string, pod: string, containers: readonly string[]): Promise<string> {
  for (const container of containers) {
    const t = { namespace, pod, container };
    const r = await execCollect(kc, t, ['tcpdump', '--version'], 20_000);
    const fatal = refusedError(r, t);
    if (fatal) throw fatal;
    if (r.exitCode === 0) return container;
  }
  throw new DevlaneError('capture-unavailable', enableSidecarHelp);
}

/** Asks tcpdump to compile the filter; its own message comes back when it rejects it. */
export async function checkFilter(kc: KubeConfig, t: ExecTarget, iface: string, filter: string): Promise<void> {
  if (filter.trim() === '') return;
  const r = await execCollect(kc, t, ['tcpdump', '-d', '-i', iface, filter], 20_000);
  const fatal = refusedError(r, t);
  if (fatal) throw fatal;
  if (r.exitCode !== 0) throw new DevlaneError('capture-filter', `tcpdump rejected the filter "${filter}": ${r.stderr.trim() || 'no message'}. Fix the filter (pcap-filter syntax).`, { detail: r.stderr });
}

export interface CaptureOptions {
  readonly namespace: string;
  readonly pod: string;
  /** A container with tcpdump; found with findTcpdump when absent. */
  readonly container?: string;
  readonly containers?: readonly string[];
  readonly iface?: string;
  readonly filter?: string;
  /** Capture file inside the container. */
  readonly pcapPath?: string;
}

export class CaptureSession implements Session {
  readonly kind = 'capture' as const;
  readonly id: string;
  readonly label: string;
  private _status: SessionStatus = { state: 'starting' };
  private readonly statusChanges = new Emitter<SessionStatus>();
  readonly onDidChangeStatus = this.statusChanges.event;
  private readonly rowEvents = new Emitter<PacketRow[]>();
  readonly onRows = this.rowEvents.event;
  private readonly endEvents = new Emitter<DevlaneError | undefined>();
  /** Fires once when tcpdump ends: undefined when stopped, an error when it failed. */
  readonly onDidEnd = this.endEvents.event;
  private remotePid?: number;
  private ws?: { close(): void };
  private stderr = '';
  private ended = false;
  private stopping = false;
  target?: ExecTarget;
  readonly pcapPath: string;
  readonly rows: PacketRow[] = [];

  constructor(private readonly kc: KubeConfig, readonly options: CaptureOptions, private readonly log: Logger) {
    // Unique per capture: the session id, and the file name in the pod (several captures may run).
    const stamp = randomBytes(6).toString('hex');
    this.id = `capture:${options.namespace}/${options.pod}:${stamp}`;
    this.label = `Capture ${options.pod}${options.filter ? ` (${options.filter})` : ''}`;
    this.pcapPath = options.pcapPath ?? `/tmp/devlane-${stamp}.pcap`;
  }

  get status(): SessionStatus {
    return this._status;
  }

  private setStatus(s: SessionStatus): void {
    this._status = s;
    this.statusChanges.fire(s);
  }

  /** Starts tcpdump; rejects (with tcpdump's message for a bad filter) when it cannot. */
  async start(): Promise<void> {
    const o = this.options;
    const container = o.container ?? (await findTcpdump(this.kc, o.namespace, o.pod, o.containers ?? []));
    const t: ExecTarget = { namespace: o.namespace, pod: o.pod, container };
    this.target = t;
    const iface = o.iface ?? 'any';
    await checkFilter(this.kc, t, iface, o.filter ?? '');
    const splitter = new LineSplitter(8 * 1024);
    let first = true;
    const stdout = new Writable({
      write: (chunk: Buffer, _e, cb) => {
        const rows: PacketRow[] = [];
        for (const { text } of splitter.push(chunk)) {
          // The wrapper shell prints its PID first, so stop can signal tcpdump (closing the
          // websocket does not end the remote command, client-node #2532).
          if (first) {
            first = false;
            const pid = Number(text.trim());
            if (Number.isInteger(pid) && pid > 0) {
              this.remotePid = pid;
              continue;
            }
          }
          rows.push(parseTcpdumpLine(text));
        }
        if (rows.length) {
          this.rows.push(...rows);
          this.rowEvents.fire(rows);
        }
        cb();
      },
    });
    const stderr = new Writable({
      write: (chunk: Buffer, _e, cb) => {
        this.stderr = (this.stderr + chunk.toString('utf8')).slice(-8192);
        cb();
      },
    });
    const script = 'echo $$; exec tcpdump -l -nn -tttt -U --print -i "$1" -w "$2" ${3:+"$3"}';
    const cmd = ['sh', '-c', script, 'sh', iface, this.pcapPath, o.filter ?? ''];
    const ws = await openExec(this.kc, t, cmd, {
      stdout,
      stderr,
      stdin: null,
      tty: false,
      onStatus: (s) => {
        if (s.status !== 'Success' && !this.stopping) this.finish(new DevlaneError('capture-unavailable', `tcpdump stopped: ${this.stderr.trim() || s.message || 'no message'}`, { detail: this.stderr }));
      },
    }).catch((e: unknown) => {
      const code = (e as { statusCode?: number }).statusCode;
      throw code === 403 ? forbidden({ verb: 'create', resource: 'pods/exec', namespace: t.namespace, name: t.pod }) : code === 404 ? new DevlaneError('not-found', `Pod "${t.pod}" is gone.`) : e;
    });
    this.ws = ws;
    ws.on('close', () => this.finish(undefined));
    this.setStatus({ state: 'running', detail: `tcpdump in ${container}` });
  }

  private finish(error: DevlaneError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.setStatus(error ? { state: 'failed', detail: error.message } : { state: 'stopped' });
    this.endEvents.fire(error);
  }

  get running(): boolean {
    return !this.ended && this._status.state === 'running';
  }

  /** Stops tcpdump so it flushes the pcap file; the file stays for download until dispose. */
  async stop(): Promise<void> {
    if (this.ended || !this.target) return;
    this.stopping = true;
    if (this.remotePid !== undefined) {
      const r = await execCollect(this.kc, this.target, ['kill', '-INT', String(this.remotePid)], 10_000);
      if (r.exitCode !== 0) this.log.debug(`stopping tcpdump: ${r.stderr.trim()}`);
    }
    this.ws?.close();
    this.finish(undefined);
  }

  /** The pcap file as captured so far (tcpdump -U writes each packet as it comes). */
  async downloadPcap(): Promise<Buffer> {
    if (!this.target) throw new DevlaneError('capture-unavailable', 'The capture has not started.');
    return readPodFile(this.kc, this.target, this.pcapPath);
  }

  async dispose(): Promise<void> {
    await this.stop().catch((e: unknown) => this.log.debug(`stopping capture: ${String(e)}`));
    if (this.target) await execCollect(this.kc, this.target, ['rm', '-f', this.pcapPath], 10_000).catch(() => undefined);
    this.rowEvents.dispose();
    this.endEvents.dispose();
    this.statusChanges.dispose();
  }
}

/** Reads a (binary) file from a container with cat. */
export async function readPodFile(kc: KubeConfig, t: ExecTarget, path: string): Promise<Buffer> {
  const r = await execCollect(kc, t, ['cat', path], 120_000);
  const fatal = refusedError(r, t);
  if (fatal) throw fatal;
  if (r.exitCode !== 0) throw new DevlaneError('artifact-missing', `Cannot read ${path} in ${t.pod}/${t.container}: ${r.stderr.trim() || 'cat failed'}.`);
  return r.stdout;
}

/**
 * A capture file already in the pod (a clone's capture taken from its start): its packets as the
 * same columns, via `tcpdump -r` in the container, and its bytes for HTTP summaries and download.
 */
export async function openPodCapture(kc: KubeConfig, t: ExecTarget, path: string): Promise<{ rows: PacketRow[]; pcap: Buffer }> {
  const pcap = await readPodFile(kc, t, path);
  const r = await execCollect(kc, t, ['tcpdump', '-nn', '-tttt', '-r', path], 120_000);
  if (r.exitCode !== 0) throw new DevlaneError('capture-unavailable', `tcpdump cannot read ${path}: ${r.stderr.trim() || 'no message'}`);
  const rows = r.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(parseTcpdumpLine);
  return { rows, pcap };
}

/** Where a clone's capture-from-start lives (extension/core/clones/spec/build.ts writes it there). */
export interface StartCaptureLocation {
  readonly dir: string;
  /** tcpdump -w name; with -C/-W rotation the files are <name>0, <name>1, … */
  readonly baseName: string;
  readonly container: string;
}

/**
 * A clone's capture taken since its start, all rotated files in capture order (oldest first by
 * modification time), as rows and as one pcap (the first file's header, every file's records).
 */
export async function openStartCapture(kc: KubeConfig, namespace: string, pod: string, loc: StartCaptureLocation): Promise<{ rows: PacketRow[]; pcap: Buffer; files: string[] }> {
  const t = { namespace, pod, container: loc.container };
  // Our own listing, one name per line: `ls -1tr` names only, no human formatting.
  const list = await execCollect(kc, t, ['sh', '-c', 'cd "$1" 2>/dev/null && ls -1tr', 'sh', loc.dir]);
  const fatal = refusedError(list, t);
  if (fatal) throw fatal;
  const files = list.stdout
    .toString('utf8')
    .split('\n')
    .filter((f) => f.startsWith(loc.baseName));
  if (files.length === 0) throw new DevlaneError('capture-unavailable', `There is no capture in ${loc.dir} of ${pod}. Create the clone with the capture option: it starts tcpdump with the pod.`);
  const rows: PacketRow[] = [];
  const parts: Buffer[] = [];
  for (const f of files) {
    const r = await openPodCapture(kc, t, `${loc.dir}/${f}`);
    rows.push(...r.rows);
    parts.push(r.pcap);
  }
  const pcap = parts.length <= 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat([parts[0] as Buffer, ...parts.slice(1).map((p) => p.subarray(24))]);
  return { rows, pcap, files };
}
