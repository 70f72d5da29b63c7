import * as path from 'node:path';
import { Emitter } from '../events';
import { toDevlaneError, type DevlaneError } from '../errors';
import type { Logger } from '../log';
import type { Session, SessionStatus } from '../sessions/session';
import type { SavedClone } from './config';
import { findArtifact, globToRegExp } from './deploy/artifact';
import type { DeployResult } from './deploy/deploy';
import type { CloneInfo } from './lifecycle';
import { cloneDefaults, defaultBuildInputs, resolveOptions, type CloneOptions, type RedeployOn } from './spec/options';

/**
 * Redeploy on save or after a build task: which of the developer's clones a save or a finished
 * task concerns, and a scheduler that debounces those events, runs one deploy at a time and folds
 * whatever happens during a deploy into one more run after it. No VS Code here: the extension
 * feeds it saves and task ends and shows its events.
 */

export type RedeployTrigger =
  | { readonly kind: 'save'; readonly path: string }
  | { readonly kind: 'task'; readonly name: string; readonly build: boolean; readonly exitCode: number | undefined };

export interface RedeployTarget {
  readonly clone: CloneInfo;
  readonly options: CloneOptions;
  /** What set it off, for the log and the status bar ("saved src/Main.java", "task build"). */
  readonly because: string;
}

/**
 * The options a clone redeploys with: its workload's entry in devlane.yaml (edited live), else
 * what the clone was made with, else the defaults.
 */
export function redeployOptions(clone: CloneInfo, entries: readonly SavedClone[]): CloneOptions {
  const entry = entries.find((e) => e.namespace === clone.ref.namespace && `${e.kind}/${e.name}` === clone.cloneOf);
  if (entry) return resolveOptions(entry.options);
  return clone.options ?? cloneDefaults;
}

/** Why a trigger concerns a workload with these options, or undefined when it does not. */
export function triggerMatches(trigger: RedeployTrigger, options: CloneOptions, defaultOn: RedeployOn, workspace: string): string | undefined {
  const mode = options.deploy.on ?? defaultOn;
  if (trigger.kind === 'task') {
    if (mode !== 'task' || trigger.exitCode !== 0) return undefined;
    const wanted = options.deploy.task;
    return (wanted ? trigger.name === wanted : trigger.build) ? `task "${trigger.name}"` : undefined;
  }
  if (mode !== 'save') return undefined;
  const rel = path.relative(workspace, trigger.path);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const slashed = rel.split(path.sep).join('/');
  const globs = options.deploy.watch ?? defaultBuildInputs;
  return globs.some((g) => globToRegExp(g).test(slashed)) ? `saved ${slashed}` : undefined;
}

/**
 * The clones to redeploy for a batch of triggers: the developer's running keep-alive clones whose
 * workload redeploys on one of them, minus the busy ones (being debugged: the debug session
 * replaces classes itself, and a restart would end it). Each clone appears once.
 */
export function redeployTargets(
  triggers: readonly RedeployTrigger[],
  clones: readonly CloneInfo[],
  entries: readonly SavedClone[],
  ctx: { readonly workspace: string; readonly defaultOn: RedeployOn; readonly busy?: (c: CloneInfo) => boolean },
): RedeployTarget[] {
  const out: RedeployTarget[] = [];
  for (const clone of clones) {
    if (!clone.ready || !clone.supervised || clone.reason === 'Terminating') continue;
    if (ctx.busy?.(clone)) continue;
    const options = redeployOptions(clone, entries);
    for (const t of triggers) {
      const because = triggerMatches(t, options, ctx.defaultOn, ctx.workspace);
      if (because) {
        out.push({ clone, options, because });
        break;
      }
    }
  }
  return out;
}

export interface RedeployConfig {
  readonly entries: readonly SavedClone[];
  readonly defaultOn: RedeployOn;
}

export interface RedeployerDeps {
  /** The workspace folder: devlane.yaml globs and artifact paths are relative to it. */
  readonly workspace: string;
  /** Read at each run, so edits of devlane.yaml and of the setting apply at once. */
  readonly config: () => Promise<RedeployConfig>;
  /** The developer's own clones (never anyone else's). */
  readonly listClones: () => Promise<readonly CloneInfo[]>;
  readonly deploy: (clone: CloneInfo, artifact: string, signal: AbortSignal) => Promise<DeployResult>;
  readonly busy?: (clone: CloneInfo) => boolean;
  /** Quiet time after the last save or task before a run starts. */
  readonly debounceMs?: number;
  readonly log: Logger;
}

export type RedeployEvent =
  | { readonly type: 'run'; readonly triggers: number; readonly targets: number }
  | { readonly type: 'deploying'; readonly target: RedeployTarget; readonly artifact: string }
  | { readonly type: 'deployed'; readonly target: RedeployTarget; readonly artifact: string; readonly result: DeployResult }
  | { readonly type: 'failed'; readonly target?: RedeployTarget; readonly error: DevlaneError }
  | { readonly type: 'idle' };

/**
 * Debounces triggers, then deploys to each concerned clone in turn. Triggers that arrive during a
 * run are kept and make exactly one more run once it ends (with the newest build), however many
 * saves there were.
 */
export class Redeployer implements Session {
  readonly id = 'clones:redeploy';
  readonly kind = 'clone' as const;
  readonly label = 'Redeploy to clones on save / after a build task';
  private readonly statusChanges = new Emitter<SessionStatus>();
  readonly onDidChangeStatus = this.statusChanges.event;
  private readonly events = new Emitter<RedeployEvent>();
  readonly onEvent = this.events.event;
  private current: SessionStatus = { state: 'running', detail: 'idle' };
  private pending: RedeployTrigger[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private disposed = false;

  constructor(private readonly deps: RedeployerDeps) {}

  get status(): SessionStatus {
    return this.current;
  }

  /** Whether nothing is waiting for its debounce or being deployed. */
  get idle(): boolean {
    return !this.timer && !this.running && this.pending.length === 0;
  }

  trigger(t: RedeployTrigger): void {
    if (this.disposed) return;
    // A failed task builds nothing worth deploying: not even a debounce restart for it.
    if (t.kind === 'task' && t.exitCode !== 0) return;
    this.deps.log.debug(`redeploy trigger: ${t.kind === 'save' ? `saved ${t.path}` : `task "${t.name}" (build group: ${t.build}) ended with ${t.exitCode}`}`);
    this.pending.push(t);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.deps.debounceMs ?? 1_000);
  }

  /** Resolves once idle (at once when it is). */
  whenIdle(): Promise<void> {
    if (this.idle || this.disposed) return Promise.resolve();
    return new Promise((resolve) => {
      const sub = this.events.event((e) => {
        if (e.type === 'idle') {
          sub.dispose();
          resolve();
        }
      });
    });
  }

  private kick(): void {
    if (this.running || this.disposed) return;
    if (this.pending.length === 0) {
      this.events.fire({ type: 'idle' });
      return;
    }
    const batch = this.pending.splice(0);
    this.running = this.run(batch)
      .catch((e: unknown) => this.events.fire({ type: 'failed', error: toDevlaneError(e) }))
      .finally(() => {
        this.running = undefined;
        this.setStatus({ state: 'running', detail: 'idle' });
        // Triggers that came during the run: one more run, unless their debounce still runs.
        if (!this.timer) this.kick();
      });
  }

  private async run(batch: readonly RedeployTrigger[]): Promise<void> {
    const ac = new AbortController();
    this.abort = ac;
    try {
      const [config, clones] = await Promise.all([this.deps.config(), this.deps.listClones()]);
      const targets = redeployTargets(batch, clones, config.entries, { workspace: this.deps.workspace, defaultOn: config.defaultOn, ...(this.deps.busy ? { busy: this.deps.busy } : {}) });
      this.deps.log.info(`redeploy: ${batch.length} save(s)/task(s) concern ${targets.length} of your ${clones.length} clone(s)`);
      this.events.fire({ type: 'run', triggers: batch.length, targets: targets.length });
      for (const target of targets) {
        if (ac.signal.aborted || this.disposed) return;
        const name = `${target.clone.ref.namespace}/${target.clone.ref.name}`;
        let artifact = '';
        try {
          artifact = findArtifact(this.deps.workspace, target.options.deploy.artifact);
          this.setStatus({ state: 'running', detail: `deploying to ${name}` });
          this.events.fire({ type: 'deploying', target, artifact });
          this.deps.log.info(`redeploy: ${target.because} → ${path.basename(artifact)} to ${name}`);
          const result = await this.deps.deploy(target.clone, artifact, ac.signal);
          this.deps.log.info(`redeploy to ${name}: ${result.unchanged ? 'build unchanged, nothing sent' : `${result.full ? 'full' : `${result.sentFiles} changed file(s)`}, up in ${result.ms} ms`}`);
          this.events.fire({ type: 'deployed', target, artifact, result });
        } catch (e) {
          const error = toDevlaneError(e);
          if (error.reason === 'cancelled') return;
          this.deps.log.warn(`redeploy to ${name} failed: ${error.message}`);
          this.events.fire({ type: 'failed', target, error });
        }
      }
    } finally {
      this.abort = undefined;
    }
  }

  private setStatus(s: SessionStatus): void {
    if (this.disposed) return;
    this.current = s;
    this.statusChanges.fire(s);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.abort?.abort();
    await this.running?.catch(() => undefined);
    this.current = { state: 'stopped' };
    this.events.fire({ type: 'idle' });
    this.events.dispose();
    this.statusChanges.dispose();
  }
}
