/**
 * Plain-words explanations of why a pod does not run, with the fix. Scheduling failures are worked
 * out from the pod spec and the nodes (numbers, taints, labels, claims); the scheduler's message only
 * says which checks failed on how many nodes. Container problems are read from the structured
 * container statuses (waiting/terminated reasons), not from event text.
 */
import type { CoreV1Event, V1Container, V1Node, V1NodeSelectorRequirement, V1PersistentVolumeClaim, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { formatResource, parseQuantity } from './quantity';

export interface Explanation {
  /** One sentence: what is wrong. */
  readonly summary: string;
  /** The reasons, each in plain words with the numbers involved. */
  readonly reasons: readonly string[];
  /** What to change. */
  readonly fixes: readonly string[];
}

/** The scheduler's FitError message, split along its format (k8s.io/kubernetes pkg/scheduler FitError.Error). */
export interface SchedulingMessage {
  readonly totalNodes?: number;
  /** "<count> <reason>" items, or one pre-filter reason that applies to every node (count undefined). */
  readonly items: readonly { readonly count?: number; readonly reason: string }[];
  /** Messages of other post-filter plugins ("no new claims to deallocate"). */
  readonly postFilter: readonly string[];
  /** What preemption said, if it ran. */
  readonly preemption?: string;
}

/**
 * The format: `0/<N> nodes are available: <reasons>.[ <post-filter message>.]` where <reasons> is
 * either one pre-filter message or a sorted, ", "-joined histogram of "<count> <reason>".
 */
export function parseSchedulingMessage(message: string): SchedulingMessage {
  const head = ' nodes are available: ';
  const at = message.indexOf(head);
  if (at < 0) return { items: message.trim() === '' ? [] : [{ reason: trimDot(message.trim()) }], postFilter: [] };
  const slash = message.lastIndexOf('/', at);
  const total = Number(message.slice(slash + 1, at));
  const body = message.slice(at + head.length);
  // The filter reasons end at the first ". " outside braces (taint text is in braces); post-filter
  // plugins follow, ", "-joined, preemption last: "… 2 Insufficient cpu. no new claims to
  // deallocate, preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
  let depth = 0;
  let end = -1;
  for (let i = 0; i < body.length - 1; i++) {
    const c = body[i];
    if (c === '{') depth++;
    else if (c === '}') depth = Math.max(0, depth - 1);
    else if (c === '.' && body[i + 1] === ' ' && depth === 0) {
      end = i;
      break;
    }
  }
  const reasonsText = end < 0 ? trimDot(body.trim()) : body.slice(0, end);
  const rest = end < 0 ? '' : body.slice(end + 2);
  const pre = rest.indexOf('preemption: ');
  const preemption = pre < 0 ? undefined : trimDot(rest.slice(pre + 'preemption: '.length).trim());
  const others = (pre < 0 ? rest : rest.slice(0, pre)).trim();
  const postFilter = others === '' ? [] : trimDot(others.endsWith(',') ? others.slice(0, -1) : others).split(', ');
  const bodyReasons = reasonsText;
  const items: { count?: number; reason: string }[] = [];
  // Split at ", " only where a count follows: a reason itself may contain ", " (taint text).
  let start = 0;
  for (let i = bodyReasons.indexOf(', '); i >= 0; i = bodyReasons.indexOf(', ', i + 2)) {
    const c = bodyReasons.charCodeAt(i + 2);
    if (c >= 48 && c <= 57 && leadingCount(bodyReasons.slice(start)) !== undefined) {
      items.push(item(bodyReasons.slice(start, i)));
      start = i + 2;
    }
  }
  items.push(item(bodyReasons.slice(start)));
  return { ...(Number.isNaN(total) ? {} : { totalNodes: total }), items, postFilter, ...(preemption ? { preemption } : {}) };
}

function item(text: string): { count?: number; reason: string } {
  const n = leadingCount(text);
  return n === undefined ? { reason: text } : { count: n.count, reason: text.slice(n.end).trim() };
}
function leadingCount(text: string): { count: number; end: number } | undefined {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  if (i === 0 || text[i] !== ' ') return undefined;
  return { count: Number(text.slice(0, i)), end: i };
}
function trimDot(s: string): string {
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

export interface SchedulingContext {
  readonly pod: V1Pod;
  readonly nodes: readonly V1Node[];
  /** Pods already bound to each node (for what is left of its allocatable). */
  readonly podsByNode?: ReadonlyMap<string, readonly V1Pod[]>;
  /** The pod's claims that exist (by name). */
  readonly claims?: ReadonlyMap<string, V1PersistentVolumeClaim>;
}

/** The effective request of a pod for a resource: max(sum of containers, largest init container) + overhead. */
export function podRequest(pod: V1Pod, resource: string): number {
  const req = (c: V1Container) => parseQuantity(c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource]) ?? 0;
  const spec = pod.spec;
  if (!spec) return 0;
  // Sidecars (init containers that keep running) add to the total like regular containers.
  const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  const plainInit = (spec.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
  const sum = [...spec.containers, ...sidecars].reduce((a, c) => a + req(c), 0);
  const init = plainInit.reduce((a, c) => Math.max(a, req(c)), 0);
  return Math.max(sum, init) + (parseQuantity(spec.overhead?.[resource]) ?? 0);
}

export function explainScheduling(message: string, ctx: SchedulingContext): Explanation {
  const parsed = parseSchedulingMessage(message);
  const reasons: string[] = [];
  const fixes: string[] = [];
  const seen = new Set<string>();
  const podName = ctx.pod.metadata?.name ?? 'the pod';
  for (const it of parsed.items) {
    const r = it.reason;
    const on = it.count !== undefined ? `${it.count} node${it.count === 1 ? '' : 's'}` : 'every node';
    if (r.startsWith('Insufficient ')) {
      const resource = r.slice('Insufficient '.length).trim();
      if (seen.has(`res:${resource}`)) continue;
      seen.add(`res:${resource}`);
      const e = explainInsufficient(resource, ctx, on);
      reasons.push(e.reason);
      fixes.push(e.fix);
    } else if (r.startsWith('Too many pods')) {
      reasons.push(`${cap(on)} already run${it.count === 1 ? 's' : ''} as many pods as allowed (status.allocatable.pods).`);
      fixes.push('Delete pods you no longer need (old clones) or add a node.');
    } else if (r.includes('untolerated taint')) {
      if (seen.has('taint')) continue;
      seen.add('taint');
      const e = explainTaints(ctx, on);
      reasons.push(e.reason);
      fixes.push(e.fix);
    } else if (r.includes("didn't match Pod's node affinity/selector") || r.includes('node affinity')) {
      if (seen.has('selector')) continue;
      seen.add('selector');
      const e = explainSelector(ctx, on);
      reasons.push(e.reason);
      fixes.push(e.fix);
    } else if (r.includes('were unschedulable') || r.includes('unschedulable')) {
      reasons.push(`${cap(on)} ${it.count === 1 ? 'is' : 'are'} cordoned (spec.unschedulable): no new pods go there.`);
      fixes.push('Uncordon the node (kubectl uncordon) or wait for its maintenance to end.');
    } else if (r.includes('unbound immediate PersistentVolumeClaims') || r.includes('persistentvolumeclaim') || r.includes('available persistent volumes') || r.includes('volume node affinity conflict')) {
      if (seen.has('pvc')) continue;
      seen.add('pvc');
      const e = explainClaims(ctx, r);
      reasons.push(e.reason);
      fixes.push(e.fix);
    } else if (r.includes('free ports')) {
      reasons.push(`On ${on}, a hostPort the pod asks for is already taken.`);
      fixes.push('Remove hostPort from the container ports, or choose a port no other pod on the node uses.');
    } else if (r.includes('pod affinity') || r.includes('anti-affinity')) {
      reasons.push(`On ${on}, the pod's (anti-)affinity to other pods cannot be met: ${r}.`);
      fixes.push('Relax spec.affinity.podAffinity/podAntiAffinity (preferred instead of required) or run the pods it must be near.');
    } else if (r.includes('topology spread')) {
      reasons.push(`On ${on}, placing the pod would break its topology spread constraints.`);
      fixes.push('Use whenUnsatisfiable: ScheduleAnyway or a larger maxSkew in spec.topologySpreadConstraints.');
    } else {
      reasons.push(`${cap(on)}: ${r}.`);
    }
  }
  if (parsed.totalNodes === 0 || ctx.nodes.length === 0) {
    reasons.push('The cluster has no nodes the scheduler can use.');
    fixes.push('Add a node, or check that the nodes are Ready.');
  }
  const total = parsed.totalNodes ?? ctx.nodes.length;
  return { summary: `${podName} cannot be placed on any of the ${total} node${total === 1 ? '' : 's'}.`, reasons, fixes: [...new Set(fixes)] };
}

function explainInsufficient(resource: string, ctx: SchedulingContext, on: string): { reason: string; fix: string } {
  const want = podRequest(ctx.pod, resource);
  let best: { node: string; free: number; allocatable: number; used: number } | undefined;
  for (const n of ctx.nodes) {
    const name = n.metadata?.name ?? '?';
    const allocatable = parseQuantity(n.status?.allocatable?.[resource]) ?? 0;
    const used = (ctx.podsByNode?.get(name) ?? [])
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && p.metadata?.uid !== ctx.pod.metadata?.uid)
      .reduce((a, p) => a + podRequest(p, resource), 0);
    const free = allocatable - used;
    if (!best || free > best.free) best = { node: name, free, allocatable, used };
  }
  const fmt = (x: number) => formatResource(resource, x);
  const biggest = (ctx.pod.spec?.containers ?? [])
    .map((c) => ({ name: c.name, amount: parseQuantity(c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource]) ?? 0 }))
    .sort((a, b) => b.amount - a.amount)[0];
  const where = best ? ` The node with the most room, ${best.node}, has ${fmt(best.allocatable)} allocatable, ${fmt(best.used)} of it already requested by other pods, so ${fmt(Math.max(0, best.free))} is free.` : '';
  const reason = `Not enough ${resource} on ${on}: the pod requests ${fmt(want)} ${resource}.${where}`;
  const limit = best ? ` to at most ${fmt(Math.max(0, best.free))}` : '';
  const fix = biggest ? `Lower resources.requests.${resource} of container "${biggest.name}" (now ${fmt(biggest.amount)})${limit}, or free up / add a node with more ${resource}.` : `Lower the pod's ${resource} requests${limit}, or add a node with more ${resource}.`;
  return { reason, fix };
}

export function tolerates(tolerations: readonly V1Toleration[], taint: V1Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function explainTaints(ctx: SchedulingContext, on: string): { reason: string; fix: string } {
  const tolerations = ctx.pod.spec?.tolerations ?? [];
  const untolerated = new Map<string, { taint: V1Taint; nodes: string[] }>();
  for (const n of ctx.nodes) {
    for (const t of n.spec?.taints ?? []) {
      if (t.effect === 'PreferNoSchedule' || tolerates(tolerations, t)) continue;
      const k = `${t.key}=${t.value ?? ''}:${t.effect}`;
      const e = untolerated.get(k) ?? { taint: t, nodes: [] };
      e.nodes.push(n.metadata?.name ?? '?');
      untolerated.set(k, e);
    }
  }
  if (untolerated.size === 0) return { reason: `${cap(on)} carry taints the pod does not tolerate.`, fix: 'Add matching spec.tolerations to the pod, or schedule it on an untainted node.' };
  const list = [...untolerated.values()].map((e) => `${e.taint.key}${e.taint.value ? `=${e.taint.value}` : ''}:${e.taint.effect} (on ${e.nodes.join(', ')})`);
  const first = [...untolerated.values()][0]!.taint;
  const toleration = `{key: "${first.key}", operator: ${first.value ? `"Equal", value: "${first.value}"` : '"Exists"'}, effect: "${first.effect}"}`;
  return { reason: `${cap(on)} carry taints the pod does not tolerate: ${list.join('; ')}.`, fix: `Add a toleration to spec.tolerations, e.g. ${toleration}, or choose nodes without that taint.` };
}

function explainSelector(ctx: SchedulingContext, on: string): { reason: string; fix: string } {
  const selector = ctx.pod.spec?.nodeSelector ?? {};
  const missing: string[] = [];
  for (const [k, v] of Object.entries(selector)) {
    const values = new Set(ctx.nodes.map((n) => n.metadata?.labels?.[k]).filter((x): x is string => x !== undefined));
    if (!values.has(v)) missing.push(`${k}=${v} (nodes have ${values.size ? [...values].map((x) => `${k}=${x}`).join(', ') : `no ${k} label`})`);
  }
  const terms = ctx.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const affinityMatches = terms.length === 0 || ctx.nodes.some((n) => terms.some((t) => (t.matchExpressions ?? []).every((e) => matchesRequirement(n.metadata?.labels ?? {}, e))));
  const parts: string[] = [];
  if (missing.length) parts.push(`its nodeSelector asks for ${missing.join('; ')}`);
  if (!affinityMatches) parts.push('no node matches its required node affinity (spec.affinity.nodeAffinity)');
  if (parts.length === 0) parts.push('its node selector or required node affinity excludes them');
  return { reason: `${cap(on)} ${on === '1 node' ? 'does' : 'do'} not match the pod: ${parts.join('; and ')}.`, fix: missing.length ? `Change spec.nodeSelector to labels a node has, or label a node (kubectl label node <node> ${missing[0]!.split(' ')[0]}).` : 'Relax the required node affinity, or label a node so it matches.' };
}

export function matchesRequirement(labels: Readonly<Record<string, string>>, r: V1NodeSelectorRequirement): boolean {
  const v = labels[r.key];
  switch (r.operator) {
    case 'In':
      return v !== undefined && (r.values ?? []).includes(v);
    case 'NotIn':
      return v === undefined || !(r.values ?? []).includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
      return v !== undefined && Number(v) > Number(r.values?.[0]);
    case 'Lt':
      return v !== undefined && Number(v) < Number(r.values?.[0]);
    default:
      return false;
  }
}

function explainClaims(ctx: SchedulingContext, reason: string): { reason: string; fix: string } {
  const names = (ctx.pod.spec?.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName).filter((x): x is string => !!x);
  const problems: string[] = [];
  for (const name of names) {
    const pvc = ctx.claims?.get(name);
    if (!pvc) problems.push(`claim "${name}" does not exist`);
    else if (pvc.status?.phase !== 'Bound') problems.push(`claim "${name}" is ${pvc.status?.phase ?? 'Pending'} (storage class ${pvc.spec?.storageClassName ?? 'none (default)'}, ${pvc.spec?.resources?.requests?.storage ?? '?'} requested)`);
  }
  if (reason.includes('volume node affinity conflict')) return { reason: `The pod's volumes are tied to nodes it cannot use (volume node affinity conflict)${problems.length ? `: ${problems.join('; ')}` : ''}.`, fix: 'Schedule the pod in the zone/node of its volumes, or use a claim whose volume is reachable there.' };
  return {
    reason: `The pod waits for its volumes: ${problems.length ? problems.join('; ') : reason}.`,
    fix: 'Create the claim, or give it a StorageClass that provisions volumes (or create a matching PersistentVolume); a clone can drop volumes it does not need.',
  };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Why containers of a pod are not running, from their statuses. */
export function explainPodStatus(pod: V1Pod): Explanation[] {
  const out: Explanation[] = [];
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
  const specOf = (name: string) => [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    const last = s.lastState?.terminated;
    const c = `container "${s.name}"`;
    if (waiting?.reason === 'ErrImagePull' || waiting?.reason === 'ImagePullBackOff' || waiting?.reason === 'ErrImageNeverPull' || waiting?.reason === 'InvalidImageName') {
      const image = specOf(s.name)?.image ?? s.image;
      const fixes =
        waiting.reason === 'InvalidImageName'
          ? [`Fix the image reference "${image}" (registry/name:tag).`]
          : waiting.reason === 'ErrImageNeverPull'
            ? [`imagePullPolicy is Never but "${image}" is not on the node: load it there or use IfNotPresent.`]
            : [`Check that "${image}" exists (name and tag) and that the node can reach its registry.`, 'If the registry is private, add imagePullSecrets to the pod (or its service account).'];
      out.push({ summary: `The image of ${c} cannot be pulled (${waiting.reason}).`, reasons: [waiting.message ?? `The node could not pull ${image}.`], fixes });
    } else if (waiting?.reason === 'CrashLoopBackOff') {
      const reasons = [`${cap(c)} keeps exiting and is restarted with growing delays (${s.restartCount} restarts so far).`];
      if (last) reasons.push(`Its last run ended with exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}${last.finishedAt ? ` at ${String(last.finishedAt)}` : ''}.`);
      const fixes = last?.reason === 'OOMKilled' ? oomFixes(specOf(s.name)) : ['Open its previous log (Logs → Previous) to see why it exited.', 'If a liveness probe kills it, give it more time (initialDelaySeconds, failureThreshold) or fix the probe.'];
      out.push({ summary: `${cap(c)} is crash-looping.`, reasons, fixes });
    } else if (waiting?.reason === 'CreateContainerConfigError' || waiting?.reason === 'CreateContainerError' || waiting?.reason === 'RunContainerError') {
      out.push({ summary: `${cap(c)} cannot be created (${waiting.reason}).`, reasons: [waiting.message ?? ''], fixes: ['Check the ConfigMaps and Secrets it references (env, envFrom, volumes) exist with the keys it needs, and its command exists in the image.'] });
    } else if (last?.reason === 'OOMKilled' || s.state?.terminated?.reason === 'OOMKilled') {
      const limit = specOf(s.name)?.resources?.limits?.memory;
      out.push({ summary: `${cap(c)} was killed for using more memory than allowed (OOMKilled).`, reasons: [`Its memory limit is ${limit ?? 'not set (the node ran out of memory)'}; the kernel killed it when it went over.`], fixes: oomFixes(specOf(s.name)) });
    }
  }
  return out;
}

function oomFixes(c: V1Container | undefined): string[] {
  const limit = c?.resources?.limits?.memory;
  return [
    limit ? `Raise resources.limits.memory of "${c?.name}" (now ${limit}).` : 'Set resources.requests/limits.memory so the pod gets a node with enough memory.',
    'For a JVM, keep the heap below the limit: -XX:MaxRAMPercentage=75 leaves room for metaspace, threads and buffers.',
  ];
}

/** An explanation for one event, from its reason code (and, for FailedScheduling, the pod and nodes). */
export function explainEvent(event: CoreV1Event, ctx?: Partial<SchedulingContext>): Explanation | undefined {
  switch (event.reason) {
    case 'FailedScheduling':
      return ctx?.pod ? explainScheduling(event.message ?? '', { pod: ctx.pod, nodes: ctx.nodes ?? [], ...(ctx.podsByNode ? { podsByNode: ctx.podsByNode } : {}), ...(ctx.claims ? { claims: ctx.claims } : {}) }) : { summary: 'The scheduler found no node for the pod.', reasons: parseSchedulingMessage(event.message ?? '').items.map((i) => (i.count !== undefined ? `${i.count} node(s): ${i.reason}` : i.reason)), fixes: [] };
    case 'Unhealthy': {
      // kubelet writes "<Liveness|Readiness|Startup> probe failed: <output>".
      const kind = (event.message ?? '').split(' ')[0] ?? '';
      const fixes: Record<string, string> = {
        Liveness: 'A failing liveness probe restarts the container: check the endpoint it calls, or give start-up more time (initialDelaySeconds, a startupProbe).',
        Readiness: 'A failing readiness probe keeps the pod out of its Service: check the endpoint it calls and that the app listens on that port.',
        Startup: 'The app did not finish starting in time: raise the startupProbe failureThreshold × periodSeconds.',
      };
      return { summary: `A ${kind.toLowerCase() || 'health'} probe failed.`, reasons: [event.message ?? ''], fixes: [fixes[kind] ?? 'Check the probe definition and what the app answers.'] };
    }
    case 'BackOff':
      return { summary: 'The kubelet is waiting before retrying (back-off).', reasons: [event.message ?? ''], fixes: ['See the container status explanation above; for restarts, open the previous log.'] };
    case 'OOMKilling':
      return { summary: 'The node killed a process for memory.', reasons: [event.message ?? ''], fixes: ['Set memory requests/limits that match what the app uses.'] };
    case 'FailedMount':
    case 'FailedAttachVolume':
      return { summary: 'A volume of the pod cannot be mounted.', reasons: [event.message ?? ''], fixes: ['Check that the ConfigMaps, Secrets and claims it mounts exist in the namespace.'] };
    case 'Evicted':
      return { summary: 'The pod was evicted from its node.', reasons: [event.message ?? ''], fixes: ['Give it resource requests that cover what it uses, so it is not the first to go under pressure.'] };
    default:
      return undefined;
  }
}
