import { createHash } from 'node:crypto';
import { AuthorizationV1Api, BatchV1Api, PatchStrategy, setHeaderOptions, type V1Job, type V1OwnerReference, type V1Pod } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { httpCode } from '../kube/probe';
import { api, classifyApiError } from '../kube/apiErrors';
import { cloneLabels } from './labels';
import type { CloneEnv } from './lifecycle';

/**
 * The clone's lease: a Job that never runs a pod (parallelism 0) whose activeDeadlineSeconds is
 * the clone's expiry. The clone pod names it as an owner, so when the deadline passes — judged by
 * the control plane, with no laptop involved — the Job fails (DeadlineExceeded), the
 * TTL-after-finished controller deletes it, and the garbage collector deletes the clone. A crashed
 * or closed VS Code therefore leaves nothing behind beyond the TTL, even though the clone cannot
 * reach the API server to delete itself.
 *
 * Why parallelism 0 and not `suspend: true`: a suspended Job has no `status.startTime` and its
 * deadline does not run; with parallelism 0 the job controller sets startTime at once and fails the
 * Job at startTime + activeDeadlineSeconds (checked on the test cluster, Kubernetes 1.36).
 * activeDeadlineSeconds is mutable on a live Job, which is how renewal moves the deadline.
 */
export const leaseLabels = {
  /** "true" on every lease Job. */
  lease: 'devlane.io/lease',
  /** The name of the clone pod the lease holds. */
  clone: 'devlane.io/lease-for',
} as const;

/** A Job's name becomes a label value (job-name), so it must stay within 63 characters. */
const maxJobName = 63;
const suffix = '-lease';

/** The lease Job's name, derived from the clone's: `<clone>-lease`, hashed when that is too long. */
export function leaseName(cloneName: string): string {
  if (cloneName.length + suffix.length <= maxJobName) return `${cloneName}${suffix}`;
  // Clone names keep their random suffix at the end; cutting it off would let two clones of a
  // long-named workload share a lease, so a hash of the whole name stands in for the cut part.
  const hash = createHash('sha256').update(cloneName).digest('hex').slice(0, 8);
  const head = cloneName.slice(0, maxJobName - suffix.length - hash.length - 1).replace(/-+$/, '');
  return `${head}-${hash}${suffix}`;
}

/** Whole seconds from the Job's start to the expiry, rounded up (activeDeadlineSeconds must be positive). */
export function deadlineSeconds(startedAt: Date, expiresAt: Date): number {
  return Math.max(1, Math.ceil((expiresAt.getTime() - startedAt.getTime()) / 1000));
}

export interface LeaseInput {
  readonly namespace: string;
  readonly cloneName: string;
  /** The clone's labels; the owner and clone-of labels are copied so the lease is selectable like the clone. */
  readonly cloneLabels: Readonly<Record<string, string>>;
  /** An image for the pod template, which is validated but never run (the clone's own image: allowed wherever the clone is). */
  readonly image: string;
  readonly ttlSeconds: number;
}

/** The lease Job. Pure. */
export function buildLease(input: LeaseInput): V1Job {
  const labels: Record<string, string> = {
    [leaseLabels.lease]: 'true',
    [leaseLabels.clone]: input.cloneName,
  };
  for (const key of [cloneLabels.owner, cloneLabels.cloneOf]) {
    const v = input.cloneLabels[key];
    if (v) labels[key] = v;
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: leaseName(input.cloneName), namespace: input.namespace, labels },
    spec: {
      parallelism: 0,
      completions: 1,
      backoffLimit: 0,
      activeDeadlineSeconds: Math.max(1, Math.round(input.ttlSeconds)),
      // Deleted the moment it fails; the garbage collector then deletes the clone it owns.
      ttlSecondsAfterFinished: 0,
      template: {
        metadata: { labels: { [leaseLabels.lease]: 'true' } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'lease', image: input.image, command: ['true'], resources: { requests: { cpu: '1m', memory: '1Mi' } } }],
        },
      },
    },
  };
}

/** The reference that hangs a clone pod on its lease: not its controller, never blocking deletion. */
export function leaseOwnerReference(job: V1Job): V1OwnerReference {
  return { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name!, uid: job.metadata!.uid!, controller: false, blockOwnerDeletion: false };
}

/** The lease a clone pod hangs on, if any: the Job owner reference with the lease's name. */
export function leaseOf(pod: V1Pod): { readonly name: string; readonly uid: string } | undefined {
  const name = pod.metadata?.name;
  if (!name) return undefined;
  const ref = pod.metadata?.ownerReferences?.find((o) => o.kind === 'Job' && o.apiVersion === 'batch/v1' && o.name === leaseName(name));
  return ref ? { name: ref.name, uid: ref.uid } : undefined;
}

/** When the job controller started the lease's clock: startTime, or its creation while the controller has not synced it yet. */
export function leaseStart(job: V1Job): Date | undefined {
  const t = job.status?.startTime ?? job.metadata?.creationTimestamp;
  return t ? new Date(t) : undefined;
}

/** Whether the lease already failed (its deadline passed): the clone goes, whatever is renewed. */
export function leaseFailed(job: V1Job): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
}

/**
 * The current owner's leases that hold no live clone: the clone was deleted without its lease
 * (an older Devlane, a delete that failed half-way), or the pod creation failed after the lease
 * was made and the rollback did not finish. Leases younger than `graceMs` on the server's clock
 * are left alone: their clone may be being created right now.
 */
export function orphanLeases(jobs: readonly V1Job[], pods: readonly V1Pod[], ownerLabel: string, serverNow: Date, graceMs = 120_000): V1Job[] {
  const held = new Set<string>();
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    const l = leaseOf(p);
    if (l) held.add(l.uid);
  }
  return jobs.filter((j) => {
    const m = j.metadata;
    if (!m?.uid || m.deletionTimestamp) return false;
    if (m.labels?.[leaseLabels.lease] !== 'true' || m.labels?.[cloneLabels.owner] !== ownerLabel) return false;
    if (held.has(m.uid)) return false;
    const created = m.creationTimestamp ? new Date(m.creationTimestamp).getTime() : undefined;
    return created !== undefined && serverNow.getTime() - created >= graceMs;
  });
}

function batch(env: CloneEnv): BatchV1Api {
  return env.kc.makeApiClient(BatchV1Api);
}

/** Whether the user may do `verb` on jobs in the namespace; true when the question itself cannot be asked (the real call then tells). */
async function mayDo(env: CloneEnv, namespace: string, verb: string): Promise<boolean> {
  try {
    const r = await env.kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace, verb, group: 'batch', resource: 'jobs' } } } });
    return r.status?.allowed !== false;
  } catch (e) {
    env.log.debug(`cannot ask whether ${verb} on jobs.batch is allowed in ${namespace}: ${e instanceof Error ? e.message : String(e)}`);
    return true;
  }
}

export type LeaseOutcome = { readonly job: V1Job } | { readonly refused: DevlaneError };

/**
 * Creates the lease. When RBAC does not let the user create it — or get and patch it, without
 * which the heartbeat could not renew it and the clone would die at its first TTL while in use —
 * the answer is `refused` with an error naming the missing verb on jobs.batch (asked up front
 * with SelfSubjectAccessReviews; a 403 on the create itself counts the same), and the caller goes
 * on without a lease. Other failures are thrown.
 */
export async function createLease(env: CloneEnv, input: LeaseInput): Promise<LeaseOutcome> {
  const ns = input.namespace;
  const body = buildLease(input);
  const name = body.metadata!.name!;
  for (const verb of ['create', 'get', 'patch'] as const) {
    if (!(await mayDo(env, ns, verb))) {
      const why = verb === 'create' ? '' : ', which renewing the lease needs';
      return {
        refused: new DevlaneError('rbac-forbidden', `You are not allowed to ${verb} jobs.batch in namespace "${ns}"${why}. Ask for a Role granting verb "${verb}" on resource "jobs.batch" (a clone's lease needs create, get, patch, list and delete).`),
      };
    }
  }
  try {
    return { job: await batch(env).createNamespacedJob({ namespace: ns, body }) };
  } catch (e) {
    const err = classifyApiError(e, { verb: 'create', resource: 'jobs', group: 'batch', namespace: ns, name });
    if (httpCode(e) === 403) return { refused: err };
    throw err;
  }
}

/** Deletes a lease (Background: whatever it still owns goes through the garbage collector). A lease already gone is fine. */
export async function deleteLease(env: CloneEnv, namespace: string, name: string, uid?: string): Promise<void> {
  try {
    await batch(env).deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background', body: { propagationPolicy: 'Background', ...(uid ? { preconditions: { uid } } : {}) } });
  } catch (e) {
    if (httpCode(e) === 404) return;
    throw classifyApiError(e, { verb: 'delete', resource: 'jobs', group: 'batch', namespace, name });
  }
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Moves the lease's deadline to `expiresAt` (server clock): activeDeadlineSeconds = expiresAt −
 * the Job's start. A clone without a lease (made without the permission) is left as it is. The
 * patch tests the uid and the owner label, so it can only touch this owner's very lease.
 */
export async function renewLease(env: CloneEnv, pod: V1Pod, expiresAt: Date): Promise<void> {
  const lease = leaseOf(pod);
  if (!lease) return;
  const namespace = pod.metadata!.namespace!;
  const call = { verb: 'get' as const, resource: 'jobs', group: 'batch', namespace, name: lease.name };
  const job = await api(call, () => batch(env).readNamespacedJob({ name: lease.name, namespace }));
  if (job.metadata?.uid !== lease.uid) throw new DevlaneError('not-found', `The lease of clone ${namespace}/${pod.metadata?.name} is gone (another Job has its name now); the clone is being deleted.`);
  if (leaseFailed(job)) throw new DevlaneError('not-found', `The lease of clone ${namespace}/${pod.metadata?.name} already expired; the cluster is deleting the clone. Clone again to go on.`);
  const start = leaseStart(job);
  if (!start) return;
  const seconds = deadlineSeconds(start, expiresAt);
  const body = [
    { op: 'test', path: '/metadata/uid', value: lease.uid },
    { op: 'test', path: `/metadata/labels/${escapePointer(cloneLabels.owner)}`, value: pod.metadata?.labels?.[cloneLabels.owner] ?? '' },
    { op: 'replace', path: '/spec/activeDeadlineSeconds', value: seconds },
  ];
  await api({ ...call, verb: 'patch' }, () => batch(env).patchNamespacedJob({ name: lease.name, namespace, body }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)));
}

/** The current owner's leases: cluster-wide when allowed, else in the given namespaces; none when listing jobs is not allowed at all. */
export async function listOwnLeases(env: CloneEnv, fallbackNamespaces: readonly string[] = []): Promise<V1Job[]> {
  const labelSelector = `${leaseLabels.lease}=true,${cloneLabels.owner}=${env.owner.label}`;
  try {
    return (await batch(env).listJobForAllNamespaces({ labelSelector })).items;
  } catch (e) {
    if (httpCode(e) !== 403) throw classifyApiError(e, { verb: 'list', resource: 'jobs', group: 'batch' });
  }
  const out: V1Job[] = [];
  for (const namespace of fallbackNamespaces) {
    try {
      out.push(...(await batch(env).listNamespacedJob({ namespace, labelSelector })).items);
    } catch (e) {
      if (httpCode(e) !== 403) throw classifyApiError(e, { verb: 'list', resource: 'jobs', group: 'batch', namespace });
    }
  }
  return out;
}
