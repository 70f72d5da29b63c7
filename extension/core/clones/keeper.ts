import { CoreV1Api, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { Emitter } from '../events';
import { toDevlaneError } from '../errors';
import type { Session, SessionStatus } from '../sessions/session';
import { cloneAnnotations, cloneLabels } from './labels';
import { httpCode } from '../kube/probe';
import { deleteLease, leaseLabels, leaseOf, listOwnLeases, orphanLeases, renewLease } from './lease';
import { deleteLeaseOf, deletePod, listOwnPods, patchExpiry, renewInClone, type CloneEnv } from './lifecycle';
import { cloneDefaults, resolveOptions } from './spec/options';

/** When a clone expires, from its annotation; undefined when it has none or it is unreadable. */
export function expiryOf(pod: V1Pod): Date | undefined {
  const text = pod.metadata?.annotations?.[cloneAnnotations.expiresAt];
  if (!text) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * The pods the reaper may delete: clones of `ownerLabel` whose expiry has passed on the server's
 * clock. A pod without the clone label, of another owner, or without a readable expiry is never
 * chosen, whatever else it looks like.
 */
export function expiredClones(pods: readonly V1Pod[], ownerLabel: string, serverNow: Date): V1Pod[] {
  return pods.filter((p) => {
    const l = p.metadata?.labels ?? {};
    if (l[cloneLabels.clone] !== 'true' || l[cloneLabels.owner] !== ownerLabel) return false;
    if (p.metadata?.deletionTimestamp) return false;
    const exp = expiryOf(p);
    return exp !== undefined && exp.getTime() <= serverNow.getTime();
  });
}

/** The TTL a clone was made with (its options annotation), else the default. */
export function ttlMinutesOf(pod: V1Pod): number {
  const text = pod.metadata?.annotations?.[cloneAnnotations.options];
  try {
    return text ? resolveOptions(JSON.parse(text) as object).ttlMinutes : cloneDefaults.ttlMinutes;
  } catch {
    return cloneDefaults.ttlMinutes;
  }
}

export interface KeeperOptions {
  /** How often to renew and reap. */
  readonly intervalMs?: number;
  /** Namespaces to look in when listing cluster-wide is forbidden. */
  readonly namespaces?: () => readonly string[];
  /** How old a lease without a clone must be before the reaper deletes it (its clone may be being created). */
  readonly orphanLeaseGraceMs?: number;
}

export interface TickResult {
  readonly renewed: readonly string[];
  readonly reaped: readonly string[];
  /** Leases deleted because they held no clone. */
  readonly orphanLeases: readonly string[];
}

/**
 * The heartbeat and the reaper, as one session: every interval it deletes the current owner's
 * expired clones and, if the developer was active since the last beat, pushes the expiry of the
 * others to now + their TTL. Both judge time by the API server's clock.
 */
export class CloneKeeper implements Session {
  readonly id = 'clones:keeper';
  readonly kind = 'clone' as const;
  readonly label = 'Clone expiry (heartbeat and reaper)';
  private readonly changes = new Emitter<SessionStatus>();
  readonly onDidChangeStatus = this.changes.event;
  private current: SessionStatus = { state: 'starting' };
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private running: Promise<TickResult> | undefined;
  private disposed = false;

  constructor(private readonly env: CloneEnv, private readonly opts: KeeperOptions = {}) {}

  get status(): SessionStatus {
    return this.current;
  }

  /** The developer did something (edited, focused, ran a command): the next beat renews. */
  markActive(): void {
    this.active = true;
  }

  start(): void {
    if (this.timer || this.disposed) return;
    const every = this.opts.intervalMs ?? 5 * 60_000;
    this.timer = setInterval(() => void this.tick().catch(() => undefined), every);
    this.timer.unref?.();
    void this.tick().catch(() => undefined);
  }

  /** One beat; concurrent calls share the one in flight. */
  tick(): Promise<TickResult> {
    this.running ??= this.beat().finally(() => (this.running = undefined));
    return this.running;
  }

  private async beat(): Promise<TickResult> {
    const renewed: string[] = [];
    const reaped: string[] = [];
    const orphans: string[] = [];
    try {
      const pods = await listOwnPods(this.env, this.opts.namespaces?.() ?? []);
      await this.env.clock.refresh();
      const now = await this.env.clock.now();
      const expired = new Set(expiredClones(pods, this.env.owner.label, now));
      for (const p of expired) {
        const ns = p.metadata!.namespace!;
        const name = p.metadata!.name!;
        try {
          await deletePod(this.env, ns, name, p.metadata?.uid, p.metadata?.resourceVersion);
          await deleteLeaseOf(this.env, p);
          reaped.push(`${ns}/${name}`);
          this.env.log.info(`reaper: deleted expired clone ${ns}/${name} (expired ${expiryOf(p)?.toISOString()})`);
        } catch (e) {
          // A failed precondition means it was renewed meanwhile: exactly what should survive.
          this.env.log.info(`reaper: left ${ns}/${name}: ${toDevlaneError(e).message}`);
        }
      }
      if (this.active) {
        this.active = false;
        for (const p of pods) {
          if (expired.has(p) || p.metadata?.deletionTimestamp) continue;
          const next = new Date(now.getTime() + ttlMinutesOf(p) * 60_000);
          const cur = expiryOf(p);
          if (cur && cur.getTime() >= next.getTime()) continue;
          try {
            // The lease first, so the annotation never promises more than the cluster will keep.
            await renewLease(this.env, p, next);
            await patchExpiry(this.env, p, next);
            await renewInClone(this.env, p, ttlMinutesOf(p) * 60);
            renewed.push(`${p.metadata!.namespace}/${p.metadata!.name}`);
          } catch (e) {
            this.env.log.warn(`heartbeat: could not renew ${p.metadata?.namespace}/${p.metadata?.name}: ${toDevlaneError(e).message}`);
          }
        }
      }
      orphans.push(...(await this.reapOrphanLeases(pods, now)));
      this.set({ state: 'running', detail: `${pods.length - reaped.length} clone(s)` });
    } catch (e) {
      const err = toDevlaneError(e);
      this.env.log.warn(`clone heartbeat: ${err.message}`);
      this.set({ state: 'degraded', detail: err.message });
      throw err;
    }
    return { renewed, reaped, orphanLeases: orphans };
  }

  /** Leases of this owner that hold no clone any more; best effort, a failure here never degrades the keeper. */
  private async reapOrphanLeases(pods: readonly V1Pod[], now: Date): Promise<string[]> {
    const deleted: string[] = [];
    try {
      const jobs = await listOwnLeases(this.env, this.opts.namespaces?.() ?? []);
      for (const j of orphanLeases(jobs, pods, this.env.owner.label, now, this.opts.orphanLeaseGraceMs)) {
        const ns = j.metadata!.namespace!;
        const name = j.metadata!.name!;
        // The pod list may not cover every namespace (RBAC fallback): ask for the clone itself
        // before deleting what may be its lease — deleting a live clone's lease deletes the clone.
        if (await this.leaseHoldsClone(j)) continue;
        await deleteLease(this.env, ns, name, j.metadata!.uid);
        deleted.push(`${ns}/${name}`);
        this.env.log.info(`reaper: deleted lease ${ns}/${name}, which held no clone`);
      }
    } catch (e) {
      this.env.log.info(`reaper: orphan leases left for now: ${toDevlaneError(e).message}`);
    }
    return deleted;
  }

  /** Whether the clone the lease was made for exists and still hangs on it; true when that cannot be told. */
  private async leaseHoldsClone(job: V1Job): Promise<boolean> {
    const clone = job.metadata?.labels?.[leaseLabels.clone];
    if (!clone) return false;
    try {
      const pod = await this.env.kc.makeApiClient(CoreV1Api).readNamespacedPod({ name: clone, namespace: job.metadata!.namespace! });
      return !pod.metadata?.deletionTimestamp && leaseOf(pod)?.uid === job.metadata?.uid;
    } catch (e) {
      return httpCode(e) !== 404;
    }
  }

  private set(s: SessionStatus): void {
    if (this.disposed) return;
    this.current = s;
    this.changes.fire(s);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    this.current = { state: 'stopped' };
    this.changes.dispose();
  }
}
