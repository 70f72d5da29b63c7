import { DevlaneError, toDevlaneError } from '../errors';
import type { SavedClone, WorkloadKey } from './config';
import { createClone, listClones, type CloneEnv, type CloneInfo, type SourceKind } from './lifecycle';
import { cloneDefaults, resolveOptions, type CloneOptions } from './spec/options';

/**
 * "Create Clones from devlane.yaml": every clone declared under `clones:` is created with its
 * saved options, or reused when the developer already has a live one of that workload. One at a
 * time, each rolled back by createClone when it fails; a cancel rolls back the one in progress
 * and leaves the rest undone.
 */
export type DeclaredOutcome =
  | { readonly key: WorkloadKey; readonly state: 'created'; readonly clone: CloneInfo; readonly notes: readonly string[] }
  | { readonly key: WorkloadKey; readonly state: 'reused'; readonly clone: CloneInfo }
  | { readonly key: WorkloadKey; readonly state: 'failed'; readonly error: DevlaneError }
  | { readonly key: WorkloadKey; readonly state: 'skipped' };

export interface DeclaredProgress {
  (message: string, done: number, total: number): void;
}

export interface DeclaredOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: DeclaredProgress;
  /** Defaults the saved options complete (e.g. the TTL setting). */
  readonly defaults?: CloneOptions;
  readonly startTimeoutMs?: number;
}

/** The developer's clone of a workload that can be reused: not being deleted, not ended. */
export function reusableClone(clones: readonly CloneInfo[], key: WorkloadKey): CloneInfo | undefined {
  return clones
    .filter((c) => c.ref.namespace === key.namespace && c.cloneOf === `${key.kind}/${key.name}` && c.reason !== 'Terminating' && c.phase !== 'Failed' && c.phase !== 'Succeeded')
    .sort((a, b) => Number(b.ready) - Number(a.ready) || (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
}

const keyText = (k: WorkloadKey) => `${k.kind} ${k.namespace}/${k.name}`;

export async function createDeclaredClones(env: CloneEnv, entries: readonly SavedClone[], opts: DeclaredOptions = {}): Promise<DeclaredOutcome[]> {
  const total = entries.length;
  const progress = opts.onProgress ?? (() => {});
  const namespaces = [...new Set(entries.map((e) => e.namespace))];
  progress('looking for your clones', 0, total);
  const mine = await listClones(env, namespaces);
  const out: DeclaredOutcome[] = [];
  for (const [i, entry] of entries.entries()) {
    const key: WorkloadKey = { namespace: entry.namespace, kind: entry.kind, name: entry.name };
    if (opts.signal?.aborted) {
      out.push({ key, state: 'skipped' });
      continue;
    }
    const existing = reusableClone(mine, key);
    if (existing) {
      out.push({ key, state: 'reused', clone: existing });
      progress(`${keyText(key)}: reusing ${existing.ref.name}`, i + 1, total);
      continue;
    }
    try {
      const options = resolveOptions(entry.options, opts.defaults ?? cloneDefaults);
      // createClone refuses a kind it cannot clone (with a clear message): the cast only names the type.
      const made = await createClone(env, { kind: entry.kind as SourceKind, namespace: entry.namespace, name: entry.name }, options, {
        onProgress: (m) => progress(`${keyText(key)}: ${m}`, i, total),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.startTimeoutMs ? { startTimeoutMs: opts.startTimeoutMs } : {}),
      });
      out.push({ key, state: 'created', clone: made.info, notes: made.notes });
      progress(`${keyText(key)}: ${made.info.ref.name} is running`, i + 1, total);
    } catch (e) {
      const error = toDevlaneError(e);
      // The clone in progress was rolled back by createClone; a cancel leaves it as not done.
      out.push(error.reason === 'cancelled' ? { key, state: 'skipped' } : { key, state: 'failed', error });
      env.log.warn(`declared clone ${keyText(key)}: ${error.message}`);
    }
  }
  return out;
}

/** One line for a notification: what was created, reused, failed and left undone. */
export function summarizeDeclared(outcomes: readonly DeclaredOutcome[]): string {
  if (outcomes.length === 0) return 'devlane.yaml declares no clones (add entries under "clones:").';
  const names = (state: DeclaredOutcome['state']) => outcomes.filter((o) => o.state === state);
  const parts: string[] = [];
  const created = names('created');
  const reused = names('reused');
  const failed = names('failed');
  const skipped = names('skipped');
  if (created.length) parts.push(`created ${created.map((o) => (o.state === 'created' ? o.clone.ref.name : '')).join(', ')}`);
  if (reused.length) parts.push(`reused ${reused.map((o) => (o.state === 'reused' ? o.clone.ref.name : '')).join(', ')}`);
  if (failed.length) parts.push(`failed ${failed.map((o) => `${o.key.namespace}/${o.key.name}`).join(', ')}`);
  if (skipped.length) parts.push(`not done (cancelled) ${skipped.map((o) => `${o.key.namespace}/${o.key.name}`).join(', ')}`);
  return `Clones from devlane.yaml: ${parts.join('; ')}.`;
}

/** The first failure as the error to show (its actions included), or undefined when none failed. */
export function firstFailure(outcomes: readonly DeclaredOutcome[]): DevlaneError | undefined {
  const f = outcomes.find((o) => o.state === 'failed');
  if (!f || f.state !== 'failed') return undefined;
  return new DevlaneError(f.error.reason, `${keyText(f.key)}: ${f.error.message}`, { cause: f.error, actions: f.error.actions, ...(f.error.detail ? { detail: f.error.detail } : {}) });
}
