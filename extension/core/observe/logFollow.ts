/**
 * Follows one container's log through the API server and hands out lines in batches. Timestamps are
 * always requested (the view shows or hides them), so a follow the server ends early can resume from
 * the last line's time without repeating lines. Ends by itself when the pod or container is gone,
 * and says why.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { CoreV1Api, Log, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { DevlaneError, toDevlaneError } from '../errors';
import { Emitter } from '../events';
import type { Logger } from '../log';
import type { Session, SessionStatus } from '../sessions/session';
import { classifyApiError } from './kubeErrors';
import { LineSplitter, splitTimestamp, defaultMaxLineLength, type LogLine } from './logModel';
import { collectionSource, namespacedPath, ResilientWatch } from './resilientWatch';
import { httpCode } from '../kube/probe';

export interface LogFollowOptions {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly follow?: boolean;
  readonly previous?: boolean;
  readonly sinceSeconds?: number;
  readonly tailLines?: number;
  readonly maxLineLength?: number;
}

export type LogEnd = { readonly why: 'completed' | 'stopped' } | { readonly why: 'gone' | 'failed'; readonly error: DevlaneError };

export class LogFollow implements Session {
  readonly kind = 'logs' as const;
  readonly id: string;
  readonly label: string;
  private _status: SessionStatus = { state: 'starting' };
  private readonly statusChanges = new Emitter<SessionStatus>();
  readonly onDidChangeStatus = this.statusChanges.event;
  private readonly batches = new Emitter<LogLine[]>();
  /** Lines, in order, in batches as they arrive. */
  readonly onLines = this.batches.event;
  private readonly ends = new Emitter<LogEnd>();
  readonly onDidEnd = this.ends.event;
  private controller?: AbortController;
  private stopped = false;
  private seq = 0;
  private lastTs?: string;
  /** Lines already delivered that carry `lastTs`: a resume from that time repeats them. */
  private atLastTs = 0;
  private ended?: LogEnd;
  private podWatch?: ResilientWatch<V1Pod>;
  private podUid?: string;

  constructor(private readonly kc: KubeConfig, readonly options: LogFollowOptions, private readonly log: Logger, id?: string) {
    this.id = id ?? `logs:${options.namespace}/${options.pod}/${options.container}:${randomUUID()}`;
    this.label = `Logs ${options.pod}/${options.container}${options.previous ? ' (previous)' : ''}`;
  }

  get status(): SessionStatus {
    return this._status;
  }
  get lineCount(): number {
    return this.seq;
  }
  get end(): LogEnd | undefined {
    return this.ended;
  }

  private setStatus(s: SessionStatus): void {
    this._status = s;
    this.statusChanges.fire(s);
  }

  async start(): Promise<void> {
    await this.open(undefined);
    if (!this.ended && this.options.follow !== false && !this.options.previous) this.watchPod();
  }

  /**
   * Some log servers (kwok's among them) keep a follow open after the pod is deleted; watching the
   * pod tells deletion (or a new pod under the same name) apart from a quiet container.
   */
  private watchPod(): void {
    const { namespace, pod } = this.options;
    const api = this.kc.makeApiClient(CoreV1Api);
    const w = new ResilientWatch<V1Pod>(
      collectionSource(this.kc, namespacedPath('/api/v1', namespace, 'pods'), (q) => api.listNamespacedPod({ namespace, ...q }), { fieldSelector: `metadata.name=${pod}` }),
      { describe: `pod ${namespace}/${pod} for its log`, log: this.log, fatal: (e) => (httpCode(e) === 403 ? new DevlaneError('rbac-forbidden', 'no pod watch') : undefined) },
    );
    this.podWatch = w;
    w.onDidChange((c) => {
      const uid = c.type === 'sync' ? c.items[0]?.metadata?.uid : c.item.metadata?.uid;
      if (c.type === 'delete' || (c.type === 'sync' && c.items.length === 0) || (this.podUid && uid && uid !== this.podUid)) {
        this.controller?.abort();
        void this.finish({ why: 'gone', error: this.goneError() });
        return;
      }
      this.podUid ??= uid;
    });
    w.start();
  }

  private async open(sinceTime: string | undefined): Promise<void> {
    const o = this.options;
    const splitter = new LineSplitter(o.maxLineLength ?? defaultMaxLineLength);
    let skip = sinceTime ? this.atLastTs : 0;
    const deliver = (parts: { text: string; cut: number }[]) => {
      const out: LogLine[] = [];
      for (const p of parts) {
        const { ts, text } = splitTimestamp(p.text);
        if (skip > 0 && ts === sinceTime) {
          skip--;
          continue;
        }
        skip = 0;
        if (ts !== undefined) {
          if (ts === this.lastTs) this.atLastTs++;
          else {
            this.lastTs = ts;
            this.atLastTs = 1;
          }
        }
        out.push(ts === undefined ? { seq: this.seq++, text, cut: p.cut } : { seq: this.seq++, text, cut: p.cut, ts });
      }
      if (out.length) this.batches.fire(out);
    };
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        deliver(splitter.push(chunk));
        cb();
      },
      final: (cb) => {
        deliver(splitter.end());
        cb();
      },
    });
    let finished = false;
    sink.on('finish', () => {
      finished = true;
      void this.onStreamEnd();
    });
    sink.on('error', (e) => this.log.warn(`log stream of ${o.pod}/${o.container}: ${e.message}`));
    try {
      this.controller = await new Log(this.kc).log(o.namespace, o.pod, o.container, sink, {
        // A previous instance has ended: following it would wait forever on servers that allow it.
        follow: (o.follow ?? true) && !o.previous,
        timestamps: true,
        ...(o.previous ? { previous: true } : {}),
        ...(sinceTime ? { sinceTime } : o.sinceSeconds ? { sinceSeconds: o.sinceSeconds } : {}),
        ...(!sinceTime && o.tailLines !== undefined ? { tailLines: o.tailLines } : {}),
      });
      if (this.stopped) this.controller.abort();
      else if (!finished) this.setStatus({ state: 'running', detail: o.follow === false ? 'reading' : 'following' });
    } catch (e) {
      await this.finish({ why: 'failed', error: await this.explainFailure(e) });
    }
  }

  /** The stream ended: finished reading, the pod went away, or the server cut a long follow. */
  private async onStreamEnd(): Promise<void> {
    if (this.stopped || this.ended) return;
    if (this.options.follow === false || this.options.previous) return this.finish({ why: 'completed' });
    const pod = await this.readPod();
    if (pod === 'gone') return this.finish({ why: 'gone', error: this.goneError() });
    const st = pod && [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])].find((s) => s.name === this.options.container);
    if (!pod || st?.state?.terminated || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return this.finish({ why: 'completed' });
    this.log.debug(`log follow of ${this.options.pod}/${this.options.container} ended early; resuming from ${this.lastTs ?? 'the start'}`);
    await this.open(this.lastTs);
  }

  private async readPod(): Promise<V1Pod | 'gone' | undefined> {
    try {
      return await this.kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: this.options.pod, namespace: this.options.namespace });
    } catch (e) {
      return httpCode(e) === 404 ? 'gone' : undefined;
    }
  }

  private goneError(): DevlaneError {
    return new DevlaneError('not-found', `Pod "${this.options.pod}" was deleted; the log stopped. The lines shown so far are kept.`);
  }

  private async explainFailure(e: unknown): Promise<DevlaneError> {
    const o = this.options;
    const code = httpCode(e);
    if (code === 403) return classifyApiError(e, { verb: 'get', resource: 'pods/log', namespace: o.namespace, name: o.pod }) as DevlaneError;
    const pod = await this.readPod();
    if (pod === 'gone') return this.goneError();
    if (pod) {
      const st = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])].find((s) => s.name === o.container);
      if (!st && ![...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c) => c.name === o.container)) return new DevlaneError('not-found', `Pod "${o.pod}" has no container "${o.container}". Pick another container.`, { cause: e });
      if (o.previous && !st?.lastState?.terminated) return new DevlaneError('not-found', `Container "${o.container}" has not restarted, so there is no previous log. Show the current log instead.`, { cause: e });
      if (st?.state?.waiting || !st) return new DevlaneError('not-found', `Container "${o.container}" has not started yet (${st?.state?.waiting?.reason ?? pod.status?.phase ?? 'Pending'}), so it has no log. Open the pod's events to see why.`, { cause: e, actions: [{ title: 'Show Events', command: 'devlane.pod.events', args: [{ kind: 'Pod', namespace: o.namespace, name: o.pod }] }] });
    }
    const err = toDevlaneError(e);
    return new DevlaneError('internal', `Reading the log of ${o.pod}/${o.container} failed (${code ?? err.message}).`, { cause: e });
  }

  private async finish(end: LogEnd): Promise<void> {
    if (this.ended) return;
    this.ended = end;
    this.podWatch?.dispose();
    this.setStatus(end.why === 'failed' ? { state: 'failed', detail: end.error.message } : { state: 'stopped', detail: end.why === 'gone' ? 'pod deleted' : end.why });
    this.ends.fire(end);
  }

  async dispose(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.controller?.abort();
    await this.finish({ why: 'stopped' });
    this.batches.dispose();
    this.ends.dispose();
    this.statusChanges.dispose();
  }
}
