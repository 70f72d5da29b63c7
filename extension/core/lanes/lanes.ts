import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { api } from '../kube/apiErrors';
import type { Logger } from '../log';
import type { ServerClock } from '../clones/serverClock';
import { cloneAnnotations, cloneLabels } from '../clones/labels';
import { defaultLaneKey, isLaneName, type LaneKey } from '../../../common/lanes/key';
import type { BackendKind, LaneBackend, LaneRoute, ServiceRoutes } from './backend';
import { chooseBackend, meshFacts, type Detected } from './detect';
import { Members } from './members';
import { LaneStore, type LaneMember, type LaneOwner, type LaneRecord } from './records';

/**
 * Lanes, for one cluster: start one, add a clone or a local port to it as the member for a
 * Service, leave, end. Every change ends in `route(service)`, which computes that Service's routes
 * from *all* lane records in the cluster (everyone's) and hands them to the Service's back-end — so
 * one developer's action never changes another's lanes, and routes of lanes that expired while
 * nobody watched are taken out by the next change or `sweep()`.
 */

export interface LanesEnv {
  readonly kc: KubeConfig;
  readonly owner: LaneOwner;
  readonly clock: ServerClock;
  readonly log: Logger;
  readonly backends: Readonly<Partial<Record<BackendKind, LaneBackend>>>;
  /** The key requests carry (devlane.yaml `lanes.key`), default baggage `devlane-lane`. */
  readonly key?: LaneKey;
  /** The back-end devlane.yaml chose for a Service, if any. */
  readonly backendFor?: (namespace: string, service: string) => BackendKind | undefined;
  readonly ttlMinutes?: number;
}

export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
}

/** One Service's members of one lane, as the Lanes view shows them. */
export interface LaneService {
  readonly service: ServiceRef;
  readonly members: readonly LaneMember[];
}

export interface LaneSummary {
  readonly lane: string;
  readonly owner: string;
  readonly ownerDisplay: string;
  readonly mine: boolean;
  readonly key: LaneKey;
  readonly expiresAt?: Date;
  readonly services: readonly LaneService[];
  readonly records: readonly LaneRecord[];
}

const defaultTtlMinutes = 120;

export class Lanes {
  private readonly store: LaneStore;
  private readonly members: Members;
  private readonly core: CoreV1Api;
  /** Back-end per Service as last detected ("ns/name" → what and why). */
  private readonly detected = new Map<string, Detected>();

  constructor(private readonly env: LanesEnv) {
    this.store = new LaneStore(env.kc);
    this.members = new Members(env.kc);
    this.core = env.kc.makeApiClient(CoreV1Api);
  }

  get key(): LaneKey {
    return this.env.key ?? defaultLaneKey;
  }

  /** Every lane in the cluster, mine first, each with its Services and members. */
  async list(fallbackNamespaces: readonly string[] = []): Promise<LaneSummary[]> {
    const records = await this.store.list(fallbackNamespaces);
    const byLane = new Map<string, LaneRecord[]>();
    for (const r of records) byLane.set(r.lane, [...(byLane.get(r.lane) ?? []), r]);
    const out: LaneSummary[] = [];
    for (const [lane, recs] of byLane) {
      const first = recs[0]!;
      const services = recs.flatMap((r) => groupByService(r));
      const expiries = recs.map((r) => r.expiresAt?.getTime()).filter((t): t is number => t !== undefined);
      out.push({
        lane,
        owner: first.owner,
        ownerDisplay: first.ownerDisplay,
        mine: first.owner === this.env.owner.label,
        key: first.key,
        ...(expiries.length ? { expiresAt: new Date(Math.min(...expiries)) } : {}),
        services,
        records: recs,
      });
    }
    return out.sort((a, b) => Number(b.mine) - Number(a.mine) || a.lane.localeCompare(b.lane));
  }

  /** The back-end last seen for a Service (without asking the cluster again). */
  detectedBackend(service: ServiceRef): Detected | undefined {
    return this.detected.get(`${service.namespace}/${service.name}`);
  }

  /** The back-end a Service's lanes go through, and why. */
  async backendOf(service: ServiceRef): Promise<Detected> {
    const facts = await meshFacts(this.env.kc, service.namespace, service.name);
    const d = chooseBackend(facts, this.env.backendFor?.(service.namespace, service.name));
    this.detected.set(`${service.namespace}/${service.name}`, d);
    return d;
  }

  /** Starts the lane in `namespace` (or finds it there); refused when the name is someone else's. */
  async start(lane: string, namespace: string): Promise<LaneRecord> {
    if (!isLaneName(lane)) throw new DevlaneError('invalid-input', `"${lane}" cannot name a lane: use lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit (it becomes part of Kubernetes names).`);
    return this.store.ensure(lane, namespace, this.env.owner, this.key, this.ttlSeconds());
  }

  /**
   * Makes my clone the lane's member for the Services it stood in (or `services`): a per-lane
   * Service for each, then each Service routed again.
   */
  async addClone(lane: string, clone: ServiceRef, opts: { services?: readonly string[]; mirrorPercent?: number } = {}): Promise<LaneMember[]> {
    const pod = await api({ verb: 'get', resource: 'pods', namespace: clone.namespace, name: clone.name }, () => this.core.readNamespacedPod({ namespace: clone.namespace, name: clone.name }));
    if (pod.metadata?.labels?.[cloneLabels.clone] !== 'true' || pod.metadata.labels[cloneLabels.owner] !== this.env.owner.label) {
      throw new DevlaneError('invalid-input', `Pod ${clone.namespace}/${clone.name} is not one of your clones: only your own clones (or your local ports) can be members of your lane.`);
    }
    const services = opts.services?.length ? await Promise.all(opts.services.map((s) => this.members.service(clone.namespace, s))) : await this.members.servicesOf(pod);
    if (services.length === 0) {
      throw new DevlaneError('not-found', `No Service in ${clone.namespace} selects the workload ${pod.metadata?.annotations?.[cloneAnnotations.cloneOf] ?? clone.name} was cloned from, so no caller could reach the clone through a lane. Name the Service (lanes in devlane.yaml).`);
    }
    const rec = await this.start(lane, clone.namespace);
    const added: LaneMember[] = [];
    for (const svc of services) {
      const memberService = await this.members.add({ lane, service: svc, lease: rec.job }, clone.name);
      added.push({ service: svc.metadata!.name!, kind: 'clone', pod: clone.name, memberService, ...(opts.mirrorPercent ? { mirrorPercent: opts.mirrorPercent } : {}) });
    }
    await this.joined(rec, clone.namespace, added);
    return added;
  }

  /**
   * Records the new members and routes their Services; when a Service cannot be routed (a refusal,
   * RBAC), takes the members out again so nothing is left half-done, and rethrows.
   */
  private async joined(rec: LaneRecord, namespace: string, added: readonly LaneMember[]): Promise<void> {
    const updated = await this.store.updateMembers(rec, this.env.owner.label, (members) => [...members.filter((m) => !added.some((a) => a.service === m.service)), ...added]);
    try {
      for (const m of added) await this.route({ namespace, name: m.service });
    } catch (e) {
      const left = await this.store.updateMembers(updated, this.env.owner.label, (members) => members.filter((m) => !added.includes(m) && !added.some((a) => a.service === m.service && a.pod === m.pod)));
      for (const m of added) {
        await this.route({ namespace, name: m.service }).catch(() => undefined);
        await this.members.remove(namespace, m.memberService, m.pod).catch(() => undefined);
      }
      if (left.members.length === 0 && rec.members.length === 0) await this.store.delete(left);
      throw e;
    }
  }

  /**
   * Makes a local port the lane's member for a Service: `agentPod` (the tunnel's in-cluster agent,
   * already listening on `agentPorts` for the Service's ports) is selected by the per-lane Service.
   */
  async addLocal(lane: string, service: ServiceRef, agentPod: string, agentPorts: Readonly<Record<number, number>>, localPort: number): Promise<LaneMember> {
    const svc = await this.members.service(service.namespace, service.name);
    const rec = await this.start(lane, service.namespace);
    const memberService = await this.members.add({ lane, service: svc, lease: rec.job, targetPorts: agentPorts }, agentPod);
    const member: LaneMember = { service: service.name, kind: 'local', pod: agentPod, memberService, localPort };
    await this.joined(rec, service.namespace, [member]);
    return member;
  }

  /** Sets the share of the baseline's requests copied to my member for the Service (0 stops mirroring). */
  async mirror(lane: string, service: ServiceRef, percent: number): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new DevlaneError('invalid-input', `A mirror percentage is between 0 and 100, not ${percent}.`);
    const rec = await this.mine(lane, service.namespace);
    await this.store.updateMembers(rec, this.env.owner.label, (members) => {
      if (!members.some((m) => m.service === service.name)) throw new DevlaneError('not-found', `The lane "${lane}" has no member for ${service.namespace}/${service.name} to mirror to.`);
      return members.map((m) => (m.service === service.name ? { ...m, mirrorPercent: percent } : m));
    });
    await this.route(service);
  }

  /** Takes my member for the Service out of the lane; the Service's lane requests go to the baseline again. */
  async leave(lane: string, service: ServiceRef): Promise<void> {
    const rec = await this.mine(lane, service.namespace);
    const gone = rec.members.filter((m) => m.service === service.name);
    await this.store.updateMembers(rec, this.env.owner.label, (members) => members.filter((m) => m.service !== service.name));
    await this.route(service);
    for (const m of gone) await this.members.remove(service.namespace, m.memberService, m.pod);
  }

  /** Ends my lane everywhere: its routes out first, then its records (with what they own). */
  async end(lane: string): Promise<void> {
    const recs = (await this.store.list()).filter((r) => r.lane === lane);
    if (recs.length === 0) return;
    if (recs.some((r) => r.owner !== this.env.owner.label)) throw new DevlaneError('lane-owned', `The lane "${lane}" belongs to ${recs[0]!.ownerDisplay}; Devlane only ends your own lanes.`);
    for (const rec of recs) {
      await this.store.updateMembers(rec, this.env.owner.label, () => []);
      for (const service of new Set(rec.members.map((m) => m.service))) await this.route({ namespace: rec.namespace, name: service });
      for (const m of rec.members) await this.members.remove(rec.namespace, m.memberService, m.pod).catch((e: unknown) => this.env.log.warn(`lane ${lane}: ${String(e)}`));
      await this.store.delete(rec);
    }
  }

  /** Moves my lane's expiry to now + its TTL, in every namespace it has records. */
  async renew(lane: string): Promise<Date> {
    const now = await this.env.clock.now();
    const until = new Date(now.getTime() + this.ttlSeconds() * 1000);
    for (const rec of (await this.store.list()).filter((r) => r.lane === lane && r.owner === this.env.owner.label)) await this.store.renew(rec, until);
    return until;
  }

  /**
   * Routes one Service as all lane records now say: everyone's live members for it, through its
   * back-end. Also what takes out the routes of lanes that expired (their records are gone).
   */
  async route(service: ServiceRef): Promise<ServiceRoutes> {
    const records = (await this.store.list([service.namespace])).filter((r) => r.namespace === service.namespace);
    const lanes: LaneRoute[] = [];
    for (const rec of records) {
      for (const m of rec.members.filter((x) => x.service === service.name)) {
        lanes.push({
          lane: rec.lane,
          owner: rec.owner,
          expiresAt: rec.expiresAt ?? new Date(Date.now() + this.ttlSeconds() * 1000),
          memberService: m.memberService,
          ...(m.mirrorPercent ? { mirrorPercent: m.mirrorPercent } : {}),
          lease: { name: rec.job.name, uid: rec.job.uid },
        });
      }
    }
    const desired: ServiceRoutes = { service, key: this.key, lanes };
    const { backend: kind, why } = await this.backendOf(service);
    const backend = this.env.backends[kind];
    if (!backend) throw new DevlaneError('mesh-absent', `${service.namespace}/${service.name} would be routed by the ${kind} back-end (${why}), which this Devlane has not got.`);
    await backend.apply(desired);
    this.env.log.info(`lanes on ${service.namespace}/${service.name} (${kind}): ${lanes.map((l) => l.lane).join(', ') || 'none'}`);
    return desired;
  }

  private async mine(lane: string, namespace: string): Promise<LaneRecord> {
    const rec = (await this.store.list([namespace])).find((r) => r.lane === lane && r.namespace === namespace);
    if (!rec) throw new DevlaneError('not-found', `There is no lane "${lane}" in ${namespace}.`);
    if (rec.owner !== this.env.owner.label) throw new DevlaneError('lane-owned', `The lane "${lane}" belongs to ${rec.ownerDisplay}; Devlane only changes your own lanes.`);
    return rec;
  }

  private ttlSeconds(): number {
    return Math.round((this.env.ttlMinutes ?? defaultTtlMinutes) * 60);
  }
}

function groupByService(rec: LaneRecord): LaneService[] {
  const by = new Map<string, LaneMember[]>();
  for (const m of rec.members) by.set(m.service, [...(by.get(m.service) ?? []), m]);
  return [...by].map(([name, members]) => ({ service: { namespace: rec.namespace, name }, members }));
}
