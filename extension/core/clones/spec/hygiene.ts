import type { V1Container, V1ObjectMeta, V1PodSpec, V1Volume } from '@kubernetes/client-node';

/**
 * Spec hygiene: what must not be copied from a running pod (or a template) into a new one. The
 * API server sets some of it and rejects it on create; admission webhooks injected the rest and
 * will inject their own again (copying a sidecar would give the clone two, or a stale one).
 */

/** Containers that mesh and runtime injectors add (init and sidecar, including native sidecars). */
export const injectedContainers: ReadonlySet<string> = new Set([
  'istio-proxy',
  'istio-init',
  'istio-validation',
  'daprd',
  'linkerd-proxy',
  'linkerd-init',
  'linkerd-network-validator',
]);

/** Volumes those injectors add; the injector adds them again. */
export const injectedVolumes: ReadonlySet<string> = new Set([
  'istio-envoy',
  'istio-data',
  'istio-podinfo',
  'istio-token',
  'istiod-ca-cert',
  'istio-ca-crl',
  'workload-socket',
  'credential-socket',
  'workload-certs',
  'linkerd-proxy-init-xtables-lock',
  'linkerd-identity-end-entity',
  'linkerd-identity-token',
  'dapr-identity-token',
  'dapr-unix-domain-socket',
]);

/** Where the service-account admission plugin mounts the token volume. */
export const serviceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The projected token volume the service-account admission plugin adds (`kube-api-access-xxxxx`). */
export function isServiceAccountTokenVolume(v: V1Volume): boolean {
  return v.name.startsWith('kube-api-access-') && v.projected !== undefined;
}

/** Annotations written by the server, controllers, CNIs and injectors; all come back by themselves. */
const droppedAnnotations = [
  'sidecar.istio.io/status',
  'linkerd.io/created-by',
  'linkerd.io/proxy-version',
  'linkerd.io/trust-root-sha256',
  'linkerd.io/identity-mode',
  'kubectl.kubernetes.io/last-applied-configuration',
  'kubernetes.io/psp',
  'controller.kubernetes.io/pod-deletion-cost',
  'k8s.v1.cni.cncf.io/network-status',
  'k8s.v1.cni.cncf.io/networks-status',
];
const droppedAnnotationPrefixes = ['cni.projectcalico.org/', 'kubernetes.io/config.', 'devlane.io/'];

/**
 * Labels controllers and injectors set on the pods they make. Keeping them would let the
 * controller count the clone as its own (or per-pod Services route to it).
 */
const droppedLabels = [
  'pod-template-hash',
  'controller-revision-hash',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-name',
  'controller-uid',
  'job-name',
  'security.istio.io/tlsMode',
  'linkerd.io/control-plane-ns',
  'linkerd.io/proxy-deployment',
  'linkerd.io/workload-ns',
];
const droppedLabelPrefixes = ['devlane.io/'];

export interface CleanMeta {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  /** Controller-set labels that were dropped (kept under an annotation for reference). */
  readonly droppedLabels: Record<string, string>;
}

/**
 * Only labels and annotations survive from the source's metadata: uid, resourceVersion,
 * generation, timestamps, ownerReferences, finalizers, managedFields and generateName all
 * belong to the source object.
 */
export function cleanMetadata(meta: V1ObjectMeta | undefined): CleanMeta {
  const labels: Record<string, string> = {};
  const dropped: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta?.labels ?? {})) {
    if (droppedLabels.includes(k) || droppedLabelPrefixes.some((p) => k.startsWith(p))) {
      if (!k.startsWith('devlane.io/')) dropped[k] = v;
    } else labels[k] = v;
  }
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta?.annotations ?? {})) {
    if (droppedAnnotations.includes(k) || droppedAnnotationPrefixes.some((p) => k.startsWith(p))) continue;
    annotations[k] = v;
  }
  return { labels, annotations, droppedLabels: dropped };
}

export interface CleanSpecResult {
  readonly spec: V1PodSpec;
  /** What was taken out, for the user to see in the creation summary. */
  readonly removed: readonly string[];
}

/**
 * A pod spec fit to create as a new pod: injected containers, volumes and mounts removed,
 * server-set scheduling fields dropped. `keepNodeName` keeps `nodeName` (the pinned case).
 */
export function cleanPodSpec(source: V1PodSpec, opts: { keepNodeName?: boolean } = {}): CleanSpecResult {
  const spec = structuredClone(source);
  const removed: string[] = [];

  const keepContainer = (c: V1Container, where: string) => {
    if (!injectedContainers.has(c.name)) return true;
    removed.push(`${where} ${c.name}`);
    return false;
  };
  spec.containers = spec.containers.filter((c) => keepContainer(c, 'container'));
  if (spec.initContainers) {
    spec.initContainers = spec.initContainers.filter((c) => keepContainer(c, 'init container'));
    if (spec.initContainers.length === 0) delete spec.initContainers;
  }

  const goneVolumes = new Set<string>();
  const tokenSecretVolumes = new Set<string>();
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
    for (const m of c.volumeMounts ?? []) {
      const v = spec.volumes?.find((x) => x.name === m.name);
      // Clusters before 1.24 mounted a `<sa>-token-xxxxx` Secret here instead of a projection.
      if (m.mountPath === serviceAccountMountPath && v?.secret && !isServiceAccountTokenVolume(v)) tokenSecretVolumes.add(v.name);
    }
  }
  if (spec.volumes) {
    spec.volumes = spec.volumes.filter((v) => {
      const drop = injectedVolumes.has(v.name) || isServiceAccountTokenVolume(v) || tokenSecretVolumes.has(v.name);
      if (drop) {
        goneVolumes.add(v.name);
        removed.push(`volume ${v.name}`);
      }
      return !drop;
    });
    if (spec.volumes.length === 0) delete spec.volumes;
  }
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
    if (!c.volumeMounts) continue;
    c.volumeMounts = c.volumeMounts.filter((m) => !goneVolumes.has(m.name));
    if (c.volumeMounts.length === 0) delete c.volumeMounts;
  }

  if (!opts.keepNodeName && spec.nodeName !== undefined) {
    removed.push(`nodeName ${spec.nodeName}`);
    delete spec.nodeName;
  }
  // Priority admission fills these from priorityClassName and rejects a pod whose copied values
  // disagree with the class as it is now.
  delete spec.priority;
  delete spec.preemptionPolicy;
  // Ephemeral containers cannot be given at create; hostname/subdomain would give a StatefulSet
  // clone the source's DNS name.
  delete spec.ephemeralContainers;
  delete spec.hostname;
  delete spec.subdomain;
  if (spec.serviceAccount !== undefined && spec.serviceAccountName !== undefined) delete spec.serviceAccount;
  // The source's own anti-affinity and spread rules are written against the source's labels;
  // applied to a lone clone they mostly keep it off the very nodes that run the app.
  if (spec.affinity?.podAntiAffinity) {
    removed.push('podAntiAffinity');
    delete spec.affinity.podAntiAffinity;
    if (Object.keys(spec.affinity).length === 0) delete spec.affinity;
  }
  if (spec.topologySpreadConstraints) {
    removed.push('topologySpreadConstraints');
    delete spec.topologySpreadConstraints;
  }
  return { spec, removed };
}

/** The first container admission did not inject: the app, unless the user names another. */
export function defaultAppContainer(spec: V1PodSpec): string | undefined {
  return spec.containers.find((c) => !injectedContainers.has(c.name))?.name;
}
