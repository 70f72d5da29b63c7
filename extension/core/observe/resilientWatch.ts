/**
 * A list-then-watch loop that survives the ways a Kubernetes watch ends: a clean close (the server's
 * timeout, a proxy cutting an idle stream) re-watches from the last resourceVersion seen; `410 Gone`
 * (that version was compacted away) re-lists and replaces the whole state. Other failures retry with
 * a growing delay; 401/403/404 stop it, since retrying cannot fix them.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { httpCode } from '../kube/probe';
import { DevlaneError } from '../errors';
import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';

export interface KubeObject {
  readonly metadata?: { readonly uid?: string; readonly name?: string; readonly resourceVersion?: string };
}

export interface WatchHandle {
  abort(): void;
}

/** The two API calls the loop needs; the real one wraps client-node, tests may drive their own. */
export interface ListWatchSource<T extends KubeObject> {
  list(): Promise<{ readonly items: readonly T[]; readonly resourceVersion: string }>;
  watch(resourceVersion: string, onEvent: (type: string, object: unknown) => void, onDone: (err: unknown) => void): Promise<WatchHandle>;
}

/** Server-side narrowing, applied alike to the list and to the watch that follows it. */
export interface CollectionQuery {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Asks the server to end each watch that early (it otherwise picks 30–60 min). */
  readonly timeoutSeconds?: number;
}

/**
 * The source for one API collection (`/api/v1/namespaces/shop/pods`, `/apis/apps/v1/deployments`…):
 * `list` is the typed client's call for the same collection, given the same selectors the watch uses.
 */
export function collectionSource<T extends KubeObject>(
  kc: KubeConfig,
  path: string,
  list: (q: { labelSelector?: string; fieldSelector?: string }) => Promise<{ readonly items: readonly T[]; readonly metadata?: { readonly resourceVersion?: string } }>,
  query: CollectionQuery = {},
): ListWatchSource<T> {
  const watch = new Watch(kc);
  const selectors = { ...(query.labelSelector ? { labelSelector: query.labelSelector } : {}), ...(query.fieldSelector ? { fieldSelector: query.fieldSelector } : {}) };
  return {
    async list() {
      const r = await list(selectors);
      return { items: r.items, resourceVersion: r.metadata?.resourceVersion ?? '' };
    },
    async watch(resourceVersion, onEvent, onDone) {
      const params = { ...selectors, resourceVersion, allowWatchBookmarks: true, ...(query.timeoutSeconds ? { timeoutSeconds: query.timeoutSeconds } : {}) };
      const ctl = await watch.watch(path, params, (type, obj) => onEvent(type, obj), onDone);
      return { abort: () => ctl.abort() };
    },
  };
}

/** The path of a namespaced collection: `/api/v1` or `/apis/<group>/<version>`, then the resource. */
export function namespacedPath(apiPrefix: string, namespace: string, resource: string): string {
  return `${apiPrefix}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
}

export type WatchChange<T> =
  | { readonly type: 'sync'; readonly items: readonly T[] }
  | { readonly type: 'upsert'; readonly item: T }
  | { readonly type: 'delete'; readonly item: T };

export type WatchState = { readonly state: 'listing' | 'watching' | 'retrying' } | { readonly state: 'failed'; readonly error: DevlaneError } | { readonly state: 'stopped' };

export interface ResilientWatchOptions {
  readonly describe: string;
  readonly log: Logger;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Classifies a failure as final (permission, not found) with a message for the user. */
  readonly fatal?: (err: unknown) => DevlaneError | undefined;
}

export class ResilientWatch<T extends KubeObject> implements Disposable {
  private readonly changes = new Emitter<WatchChange<T>>();
  private readonly states = new Emitter<WatchState>();
  readonly onDidChange = this.changes.event;
  readonly onDidChangeState = this.states.event;
  private current?: WatchHandle;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  private resourceVersion = '';
  private delay: number;
  /** Counts for tests and the status line: how often it re-watched and re-listed. */
  readonly stats = { lists: 0, watches: 0, gone: 0, errors: 0 };
  private _state: WatchState = { state: 'listing' };

  constructor(private readonly source: ListWatchSource<T>, private readonly opts: ResilientWatchOptions) {
    this.delay = opts.minDelayMs ?? 200;
  }

  get state(): WatchState {
    return this._state;
  }

  start(): this {
    void this.relist();
    return this;
  }

  private setState(s: WatchState): void {
    this._state = s;
    this.states.fire(s);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    this.setState({ state: 'listing' });
    this.stats.lists++;
    try {
      const r = await this.source.list();
      if (this.stopped) return;
      this.resourceVersion = r.resourceVersion;
      this.changes.fire({ type: 'sync', items: r.items });
      this.delay = this.opts.minDelayMs ?? 200;
      await this.rewatch();
    } catch (e) {
      this.failed(e, () => this.relist());
    }
  }

  private async rewatch(): Promise<void> {
    if (this.stopped) return;
    this.stats.watches++;
    let gone = false;
    const startedAt = Date.now();
    let sawEvent = false;
    let ended = false;
    try {
      this.current = await this.source.watch(
        this.resourceVersion,
        (type, object) => {
          if (this.stopped) return;
          if (type === 'ERROR') {
            const code = (object as { code?: number } | null)?.code;
            if (code === 410) gone = true;
            else this.opts.log.warn(`${this.opts.describe}: watch error ${JSON.stringify(object)}`);
            return;
          }
          const item = object as T;
          const rv = item?.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          sawEvent = true;
          if (type === 'ADDED' || type === 'MODIFIED') this.changes.fire({ type: 'upsert', item });
          else if (type === 'DELETED') this.changes.fire({ type: 'delete', item });
          // BOOKMARK only moves the resourceVersion forward.
        },
        (err) => {
          ended = true;
          this.current = undefined;
          if (this.stopped) return;
          if (gone || httpCode(err) === 410) {
            this.stats.gone++;
            this.opts.log.debug(`${this.opts.describe}: resourceVersion ${this.resourceVersion} is gone; listing again`);
            void this.relist();
          } else if (err) {
            this.failed(err, () => this.rewatch());
          } else {
            // A watch that closes at once without events (a misbehaving proxy) must not spin.
            if (!sawEvent && Date.now() - startedAt < 1_000) this.schedule(() => this.rewatch());
            else void this.rewatch();
          }
        },
      );
      if (this.stopped) this.current?.abort();
      else if (!ended) this.setState({ state: 'watching' });
      else this.current = undefined;
    } catch (e) {
      if (httpCode(e) === 410) {
        this.stats.gone++;
        void this.relist();
      } else this.failed(e, () => this.rewatch());
    }
  }

  private failed(err: unknown, retry: () => Promise<void>): void {
    if (this.stopped) return;
    this.stats.errors++;
    const fatal = this.opts.fatal?.(err);
    if (fatal) {
      this.setState({ state: 'failed', error: fatal });
      return;
    }
    this.opts.log.warn(`${this.opts.describe}: ${err instanceof Error ? err.message : String(err)}; retrying in ${this.delay} ms`);
    this.setState({ state: 'retrying' });
    this.schedule(retry);
  }

  private schedule(fn: () => Promise<void>): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void fn(), this.delay);
    this.delay = Math.min(this.delay * 2, this.opts.maxDelayMs ?? 10_000);
  }

  dispose(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.current?.abort();
    this.setState({ state: 'stopped' });
    this.changes.dispose();
    this.states.dispose();
  }
}

