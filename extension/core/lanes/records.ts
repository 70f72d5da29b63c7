import { BatchV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { api, classifyApiError } from '../kube/apiErrors';
import { httpCode } from '../kube/probe';
import { deadlineSeconds, leaseFailed, leaseStart } from '../clones/lease';
import type { LaneKey } from '../../../common/lanes/key';
import { laneLabels } from './names';

/**
 * Where a lane lives in the cluster: in each namespace it has members, a lease Job (as a clone's:
 * parallelism 0, so it runs nothing, and activeDeadlineSeconds is the lane's expiry, judged by the
 * control plane). The Job carries the lane's name, owner, key and members; per-lane objects there
 * (member Services, HTTPRoutes) are owned by it, so at the expiry the Job fails, is deleted at once
 * (ttlSecondsAfterFinished 0) and the garbage collector takes them — with no laptop involved.
 * Everyone's lanes are read from these Jobs: routes are always computed from all of them.
 */

export interface LaneMember {
  /** The Service whose lane requests this member serves. */
  readonly service: string;
  readonly kind: 'clone' | 'local';
  /** The clone pod, or the tunnel agent pod that carries requests to the local port. */
  readonly pod: string;
  /** The per-lane Service selecting it. */
  readonly memberService: string;
  /** For `local`: the port on the developer's machine. */
  readonly localPort?: number;
  /** Percent of the baseline's requests copied to the member (answers discarded). */
  readonly mirrorPercent?: number;
}

export interface LaneRecord {
  readonly lane: string;
  readonly namespace: string;
  /** Label-safe owner identity, and as a person reads it. */
  readonly owner: string;
  readonly ownerDisplay: string;
  readonly key: LaneKey;
  readonly members: readonly LaneMember[];
  readonly expiresAt?: Date;
  readonly job: { readonly name: string; readonly uid: string; readonly resourceVersion?: string };
}

const leaseLabel = 'devlane.io/lane-lease';
const dataAnnotation = 'devlane.io/lane';
const ownerAnnotation = 'devlane.io/owner-display';
/** The pod template of a lease is validated by the API server but never run. */
const leaseImage = 'registry.k8s.io/pause:3.10';

export const laneJobName = (lane: string) => `dl-lane-${lane}`.slice(0, 63).replace(/-+$/, '');

interface LaneData {
  readonly key: LaneKey;
  readonly members: LaneMember[];
}

export function recordOf(job: V1Job): LaneRecord | undefined {
  const m = job.metadata;
  if (!m?.name || !m.uid || !m.namespace || m.deletionTimestamp || leaseFailed(job)) return undefined;
  const lane = m.labels?.[laneLabels.lane];
  const owner = m.labels?.[laneLabels.owner];
  if (!lane || !owner) return undefined;
  let data: LaneData;
  try {
    data = JSON.parse(m.annotations?.[dataAnnotation] ?? '') as LaneData;
  } catch {
    return undefined;
  }
  const start = leaseStart(job);
  const deadline = job.spec?.activeDeadlineSeconds;
  return {
    lane,
    namespace: m.namespace,
    owner,
    ownerDisplay: m.annotations?.[ownerAnnotation] ?? owner,
    key: data.key,
    members: data.members ?? [],
    ...(start && deadline ? { expiresAt: new Date(start.getTime() + deadline * 1000) } : {}),
    job: { name: m.name, uid: m.uid, ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}) },
  };
}

export interface LaneOwner {
  readonly label: string;
  readonly display: string;
}

export class LaneStore {
  private readonly batch: BatchV1Api;

  constructor(private readonly kc: KubeConfig) {
    this.batch = kc.makeApiClient(BatchV1Api);
  }

  /** Every lane record: cluster-wide when allowed, else in the given namespaces. */
  async list(fallbackNamespaces: readonly string[] = []): Promise<LaneRecord[]> {
    const labelSelector = `${leaseLabel}=true`;
    let jobs: V1Job[];
    try {
      jobs = (await this.batch.listJobForAllNamespaces({ labelSelector })).items;
    } catch (e) {
      if (httpCode(e) !== 403) throw classifyApiError(e, { verb: 'list', resource: 'jobs', group: 'batch' });
      jobs = [];
      for (const namespace of new Set(fallbackNamespaces)) {
        jobs.push(...(await api({ verb: 'list', resource: 'jobs', group: 'batch', namespace }, () => this.batch.listNamespacedJob({ namespace, labelSelector }))).items);
      }
    }
    return jobs.map(recordOf).filter((r): r is LaneRecord => r !== undefined);
  }

  /**
   * The lane's record in `namespace`, made if missing. A lane name is one developer's: a record
   * of it owned by someone else, anywhere, refuses it with the owner named.
   */
  async ensure(lane: string, namespace: string, owner: LaneOwner, key: LaneKey, ttlSeconds: number): Promise<LaneRecord> {
    const all = await this.list([namespace]);
    const theirs = all.find((r) => r.lane === lane && r.owner !== owner.label);
    if (theirs) {
      throw new DevlaneError('lane-owned', `The lane "${lane}" belongs to ${theirs.ownerDisplay}${theirs.expiresAt ? ` until ${theirs.expiresAt.toISOString()}` : ''}. Choose another lane name (your user name is the default).`);
    }
    const mine = all.find((r) => r.lane === lane && r.namespace === namespace);
    if (mine) return mine;
    const body: V1Job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: laneJobName(lane),
        namespace,
        labels: { [leaseLabel]: 'true', [laneLabels.lane]: lane, [laneLabels.owner]: owner.label, [laneLabels.managedBy]: 'devlane' },
        annotations: { [dataAnnotation]: JSON.stringify({ key, members: [] } satisfies LaneData), [ownerAnnotation]: owner.display },
      },
      spec: {
        parallelism: 0,
        completions: 1,
        backoffLimit: 0,
        activeDeadlineSeconds: Math.max(1, Math.round(ttlSeconds)),
        ttlSecondsAfterFinished: 0,
        template: {
          metadata: { labels: { [leaseLabel]: 'true' } },
          spec: { restartPolicy: 'Never', automountServiceAccountToken: false, containers: [{ name: 'lease', image: leaseImage, resources: { requests: { cpu: '1m', memory: '1Mi' } } }] },
        },
      },
    };
    try {
      const job = await this.batch.createNamespacedJob({ namespace, body });
      return recordOf(job)!;
    } catch (e) {
      if (httpCode(e) === 409) throw new DevlaneError('lane-owned', `A lane record ${laneJobName(lane)} already exists in ${namespace} (another lane whose name starts the same, or one being deleted). Choose another lane name.`, { cause: e });
      throw classifyApiError(e, { verb: 'create', resource: 'jobs', group: 'batch', namespace, name: laneJobName(lane) });
    }
  }

  /**
   * Changes the record's members by a read-modify-write on its resourceVersion (retried on
   * conflict), checking the owner each time.
   */
  async updateMembers(rec: LaneRecord, owner: string, change: (members: LaneMember[]) => LaneMember[]): Promise<LaneRecord> {
    const call = { verb: 'patch' as const, resource: 'jobs', group: 'batch', namespace: rec.namespace, name: rec.job.name };
    for (let attempt = 0; ; attempt++) {
      const job = await api({ ...call, verb: 'get' }, () => this.batch.readNamespacedJob({ namespace: rec.namespace, name: rec.job.name }));
      const current = recordOf(job);
      if (!current || job.metadata?.uid !== rec.job.uid) throw new DevlaneError('not-found', `The lane "${rec.lane}" in ${rec.namespace} has ended (its lease expired or was deleted). Start it again.`);
      if (current.owner !== owner) throw new DevlaneError('lane-owned', `The lane "${rec.lane}" belongs to ${current.ownerDisplay}; Devlane only changes your own lanes.`);
      const data: LaneData = { key: current.key, members: change([...current.members]) };
      const body = [
        { op: 'test', path: '/metadata/resourceVersion', value: job.metadata!.resourceVersion },
        { op: 'replace', path: `/metadata/annotations/${dataAnnotation.replace('/', '~1')}`, value: JSON.stringify(data) },
      ];
      try {
        return recordOf(await this.batch.patchNamespacedJob({ namespace: rec.namespace, name: rec.job.name, body }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)))!;
      } catch (e) {
        // A failed test op is 422 (someone changed it meanwhile); a stale resourceVersion is 409.
        if ((httpCode(e) === 409 || httpCode(e) === 422) && attempt < 8) continue;
        throw classifyApiError(e, call);
      }
    }
  }

  /** Moves the lane's expiry in this namespace (the Job's deadline; server clock). */
  async renew(rec: LaneRecord, expiresAt: Date): Promise<void> {
    const call = { verb: 'patch' as const, resource: 'jobs', group: 'batch', namespace: rec.namespace, name: rec.job.name };
    const job = await api({ ...call, verb: 'get' }, () => this.batch.readNamespacedJob({ namespace: rec.namespace, name: rec.job.name }));
    const start = leaseStart(job);
    if (!start || leaseFailed(job)) throw new DevlaneError('not-found', `The lane "${rec.lane}" in ${rec.namespace} has already expired. Start it again.`);
    const body = [
      { op: 'test', path: '/metadata/uid', value: rec.job.uid },
      { op: 'replace', path: '/spec/activeDeadlineSeconds', value: deadlineSeconds(start, expiresAt) },
    ];
    await api(call, () => this.batch.patchNamespacedJob({ namespace: rec.namespace, name: rec.job.name, body }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)));
  }

  /** Deletes the record (Background: what it owns goes through the garbage collector). */
  async delete(rec: LaneRecord): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({ namespace: rec.namespace, name: rec.job.name, propagationPolicy: 'Background', body: { propagationPolicy: 'Background', preconditions: { uid: rec.job.uid } } });
    } catch (e) {
      if (httpCode(e) === 404 || httpCode(e) === 409) return;
      throw classifyApiError(e, { verb: 'delete', resource: 'jobs', group: 'batch', namespace: rec.namespace, name: rec.job.name });
    }
  }
}
