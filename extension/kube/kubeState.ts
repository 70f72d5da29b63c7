import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { Emitter } from '../core/events';
import { DevlaneError, toDevlaneError } from '../core/errors';
import type { Logger } from '../core/log';
import { loadKubeconfig, type LoadedKubeconfig } from '../core/kube/kubeconfig';
import { probeCluster } from '../core/kube/probe';
import type { DevlaneConfig } from '../config';

export type KubeStatus =
  | { readonly state: 'loading' }
  | { readonly state: 'connected'; readonly config: LoadedKubeconfig; readonly version: string }
  | { readonly state: 'error'; readonly error: DevlaneError; readonly config?: LoadedKubeconfig };

/**
 * The current cluster connection: which kubeconfig and context, and whether the API server
 * answers. Loaded lazily (never during activate), re-loaded when the settings or the kubeconfig
 * file change. Features read `status` or await `ready()`.
 */
export class KubeState implements vscode.Disposable {
  private current: KubeStatus = { state: 'loading' };
  private loading: Promise<KubeStatus> | undefined;
  private readonly changes = new Emitter<KubeStatus>();
  readonly onDidChange = this.changes.event;
  private watchers: fs.FSWatcher[] = [];
  private readonly configSub: vscode.Disposable;
  private generation = 0;

  constructor(private readonly config: DevlaneConfig, private readonly log: Logger) {
    this.configSub = config.onDidChange((c) => {
      if (c.reconnect) void this.reload();
    });
  }

  get status(): KubeStatus {
    return this.current;
  }

  /** The loaded status, loading it first if nothing has asked yet. */
  ready(): Promise<KubeStatus> {
    return this.loading ?? this.reload();
  }

  /** The usable kubeconfig, or the DevlaneError saying why there is none. */
  async require(): Promise<LoadedKubeconfig> {
    const s = await this.ready();
    if (s.state === 'connected') return s.config;
    if (s.state === 'error') throw s.error;
    throw new DevlaneError('internal', 'The cluster connection is still loading.');
  }

  reload(): Promise<KubeStatus> {
    const gen = ++this.generation;
    this.set({ state: 'loading' });
    this.loading = this.load().then((s) => {
      if (gen === this.generation) this.set(s);
      return s;
    });
    return this.loading;
  }

  private async load(): Promise<KubeStatus> {
    let config: LoadedKubeconfig | undefined;
    try {
      config = loadKubeconfig({ path: this.config.get('devlane.kubeconfig'), context: this.config.get('devlane.context') });
      this.watch(config.files);
      const info = await probeCluster(config.kc);
      this.log.info(`connected to ${config.server} (context ${config.context}, Kubernetes ${info.gitVersion})`);
      return { state: 'connected', config, version: info.gitVersion };
    } catch (e) {
      const error = toDevlaneError(e);
      this.log.warn(`cluster connection: ${error.reason}: ${error.message}`);
      return config ? { state: 'error', error, config } : { state: 'error', error };
    }
  }

  private watch(files: readonly string[]): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    for (const f of files) {
      try {
        // A kubeconfig rewritten by `kubectl config use-context` or a login helper: follow it.
        const w = fs.watch(f, { persistent: false }, () => this.reloadSoon());
        w.on('error', () => w.close());
        this.watchers.push(w);
      } catch {
        // Not watchable (e.g. gone): the next reload reports it.
      }
    }
  }

  private debounce: NodeJS.Timeout | undefined;
  /** Tools rewrite a kubeconfig in several writes: reload once they are done. */
  private reloadSoon(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), 300);
  }

  private set(s: KubeStatus): void {
    this.current = s;
    this.changes.fire(s);
  }

  dispose(): void {
    clearTimeout(this.debounce);
    for (const w of this.watchers) w.close();
    this.configSub.dispose();
    this.changes.dispose();
  }
}
