import type { V1Container, V1Deployment, V1ObjectMeta, V1Pod, V1PodSpec, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import { cloneLabels } from '../core/clones/labels';
import type { SourceKind } from '../core/clones/lifecycle';
import { jdwpPortFromOptions } from '../../debug-adapter/kube/jdwpPort';

/**
 * What the quick picks of a `devlane` debug configuration offer, and in which order, without VS
 * Code: the configuration provider (register.ts) only shows these lists and stores the answer.
 */

/** Contexts, the current one first; a pick is needed only when there are several and none is chosen. */
export function contextChoices(contexts: readonly string[], current: string | undefined): string[] {
  return [...(current && contexts.includes(current) ? [current] : []), ...contexts.filter((c) => c !== current).sort((a, b) => a.localeCompare(b))];
}

/** Asked when the configuration names no context, Devlane's settings choose none, and there are several. */
export function needsContextPick(contexts: readonly string[], configured: string | undefined, setting: string | undefined): boolean {
  return !configured && !setting && contexts.length > 1;
}

/** Namespaces: the kubeconfig context's namespace first, the control plane's (kube-*) last. */
export function namespaceChoices(names: readonly string[], current: string | undefined): string[] {
  const system = (n: string) => n.startsWith('kube-');
  const rest = names.filter((n) => n !== current).sort((a, b) => Number(system(a)) - Number(system(b)) || a.localeCompare(b));
  return [...(current && names.includes(current) ? [current] : []), ...rest];
}

export interface WorkloadChoice {
  readonly kind: SourceKind;
  readonly namespace: string;
  readonly name: string;
  /** One line for the pick: readiness, image. */
  readonly detail: string;
  readonly containers: readonly string[];
  /** The pod spec the containers come from (template or pod). */
  readonly spec: V1PodSpec;
}

export interface NamespaceContent {
  readonly deployments: readonly V1Deployment[];
  readonly statefulSets: readonly V1StatefulSet[];
  readonly replicaSets: readonly V1ReplicaSet[];
  readonly pods: readonly V1Pod[];
}

const isClone = (m: V1ObjectMeta | undefined) => m?.labels?.[cloneLabels.clone] === 'true';
const owned = (m: V1ObjectMeta | undefined) => (m?.ownerReferences ?? []).some((o) => o.controller);
const images = (spec: V1PodSpec | undefined) => [...new Set((spec?.containers ?? []).map((c) => c.image ?? '?'))].join(', ');
const names = (spec: V1PodSpec | undefined) => (spec?.containers ?? []).map((c) => c.name);

/**
 * What can be debugged in a clone, in the order a developer looks for it: Deployments, then
 * StatefulSets, then ReplicaSets no Deployment manages (a Deployment's own ReplicaSets are the
 * Deployment), then running pods no controller owns. Clones (the developer's own or others') and
 * pods being deleted are left out; each kind is sorted by name.
 */
export function workloadChoices(namespace: string, content: NamespaceContent): WorkloadChoice[] {
  const byName = <T extends { metadata?: V1ObjectMeta }>(list: readonly T[]) => [...list].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const out: WorkloadChoice[] = [];
  const add = (kind: SourceKind, meta: V1ObjectMeta | undefined, spec: V1PodSpec | undefined, detail: string) => {
    if (!meta?.name || !spec || meta.deletionTimestamp) return;
    out.push({ kind, namespace, name: meta.name, detail: `${detail} · ${images(spec)}`, containers: names(spec), spec });
  };
  for (const d of byName(content.deployments)) add('Deployment', d.metadata, d.spec?.template.spec, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1} ready`);
  for (const s of byName(content.statefulSets)) add('StatefulSet', s.metadata, s.spec?.template.spec, `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1} ready`);
  for (const r of byName(content.replicaSets)) if (!owned(r.metadata)) add('ReplicaSet', r.metadata, r.spec?.template?.spec, `${r.status?.readyReplicas ?? 0}/${r.spec?.replicas ?? 1} ready`);
  for (const p of byName(content.pods)) if (!owned(p.metadata) && !isClone(p.metadata) && p.status?.phase === 'Running') add('Pod', p.metadata, p.spec, 'pod');
  return out;
}

/** Why a container looks like the JVM to debug: a JDWP port or option, or `java` as its command. */
function javaHint(c: V1Container): number {
  if (c.ports?.some((p) => p.name === 'jdwp')) return 3;
  const env = (c.env ?? []).map((e) => e.value ?? '').join(' ');
  if (jdwpPortFromOptions(`${env} ${[...(c.command ?? []), ...(c.args ?? [])].join(' ')}`)) return 2;
  const cmd = c.command?.[0] ?? '';
  if (cmd === 'java' || cmd.endsWith('/java') || /jdk|jre|temurin|openjdk|java/i.test(c.image ?? '')) return 1;
  return 0;
}

/**
 * The containers of a pod spec to choose from, the likeliest JVM first (stable otherwise). An empty
 * list means there is nothing to ask: one container, or the configuration names one that exists.
 */
export function containerChoices(spec: V1PodSpec, configured?: string): string[] {
  const containers = spec.containers ?? [];
  if (containers.length <= 1 || (configured && containers.some((c) => c.name === configured))) return [];
  return containers
    .map((c, i) => ({ c, i, hint: javaHint(c) }))
    .sort((a, b) => b.hint - a.hint || a.i - b.i)
    .map((x) => x.c.name);
}

/** The picked answers as a launch configuration to keep in launch.json (no more questions next time). */
export function launchConfigurationFor(choice: { readonly kind: string; readonly namespace: string; readonly name: string; readonly container?: string; readonly context?: string }, preLaunchTask?: string): Record<string, unknown> {
  return {
    type: 'devlane',
    request: 'launch',
    name: `Devlane: Debug ${choice.name} in my clone`,
    clone: { namespace: choice.namespace, kind: choice.kind, name: choice.name },
    ...(choice.container ? { container: choice.container } : {}),
    ...(choice.context ? { context: choice.context } : {}),
    ...(preLaunchTask ? { preLaunchTask } : {}),
  };
}
