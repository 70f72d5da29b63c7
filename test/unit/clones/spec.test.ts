import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { buildClonePod, baseNameOf, jvmToolOptions, captureContainerName, type BuildInput } from '../../../extension/core/clones/spec/build';
import { cleanMetadata, cleanPodSpec } from '../../../extension/core/clones/spec/hygiene';
import { cloneName, ownerIdentity, sanitizeLabelValue } from '../../../extension/core/clones/spec/identity';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { detachFromSelectors, selectorMatches, serviceSelector } from '../../../extension/core/clones/spec/selectors';
import { appCommandOf, escapeKubernetesExpansion, isSupervised, supervisorScript } from '../../../extension/core/clones/spec/supervisor';
import { cloneAnnotations, cloneLabels } from '../../../extension/core/clones/labels';
import { isDevlaneError } from '../../../extension/core/errors';

/** A pod as the API returns it from a meshed Deployment: server fields, injected sidecars, token volume. */
function runningPod(): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'orders-7c9f8d6b5-x2x9k',
      generateName: 'orders-7c9f8d6b5-',
      namespace: 'shop',
      uid: '1d2c3b4a',
      resourceVersion: '4711',
      creationTimestamp: new Date('2026-11-22T01:00:00Z'),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'orders-7c9f8d6b5', uid: 'rs-uid', controller: true }],
      finalizers: ['example.com/x'],
      managedFields: [{ manager: 'kube-controller-manager' }],
      labels: { app: 'orders', tier: 'backend', version: 'v1', 'pod-template-hash': '7c9f8d6b5', 'security.istio.io/tlsMode': 'istio' },
      annotations: {
        'sidecar.istio.io/status': '{"containers":["istio-proxy"]}',
        'prometheus.io/scrape': 'true',
        'cni.projectcalico.org/podIP': '10.0.0.5/32',
        'kubernetes.io/config.seen': 'x',
      },
    },
    spec: {
      nodeName: 'node-a',
      priority: 0,
      serviceAccountName: 'orders',
      serviceAccount: 'orders',
      initContainers: [{ name: 'istio-init', image: 'istio/proxyv2' }],
      containers: [
        {
          name: 'orders',
          image: 'shop/orders:1',
          command: ['java'],
          args: ['-jar', '/app/orders.jar'],
          env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-Xmx256m' }, { name: 'MODE', value: 'prod' }],
          livenessProbe: { httpGet: { path: '/health', port: 8080 } },
          readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
          startupProbe: { tcpSocket: { port: 8080 } },
          volumeMounts: [
            { name: 'config', mountPath: '/config' },
            { name: 'kube-api-access-abcde', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
          ],
        },
        { name: 'istio-proxy', image: 'istio/proxyv2', volumeMounts: [{ name: 'istio-envoy', mountPath: '/etc/istio/proxy' }] },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'orders-config' } },
        { name: 'kube-api-access-abcde', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
        { name: 'istio-envoy', emptyDir: {} },
      ],
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'orders' } } }] } },
    },
    status: { phase: 'Running', podIP: '10.0.0.5' },
  };
}

const owner = ownerIdentity({ kubeUser: 'alice@example.com', osUser: 'alice', host: 'laptop.local' });
const expiresAt = new Date('2026-11-22T03:00:00.123Z');

function input(overrides: Partial<BuildInput> = {}): BuildInput {
  const pod = runningPod();
  return {
    source: { kind: 'Pod', namespace: 'shop', name: pod.metadata!.name!, metadata: pod.metadata, spec: pod.spec! },
    options: resolveOptions(),
    owner,
    expiresAt,
    selectors: [
      { source: 'Service/orders', kind: 'service', selector: serviceSelector({ app: 'orders' })! },
      { source: 'ReplicaSet/orders-7c9f8d6b5', kind: 'controller', selector: { matchLabels: { app: 'orders', 'pod-template-hash': '7c9f8d6b5' } } },
      { source: 'Service/payments', kind: 'service', selector: serviceSelector({ app: 'payments' })! },
    ],
    nameSuffix: 'k3j9',
    ...overrides,
  };
}

test('metadata keeps only labels and annotations, without server, CNI, injector and controller values', () => {
  const m = cleanMetadata(runningPod().metadata);
  assert.deepEqual(m.labels, { app: 'orders', tier: 'backend', version: 'v1' });
  assert.deepEqual(m.annotations, { 'prometheus.io/scrape': 'true' });
  assert.deepEqual(m.droppedLabels, { 'pod-template-hash': '7c9f8d6b5', 'security.istio.io/tlsMode': 'istio' });
});

test('spec hygiene removes injected containers, the token volume and its mounts, nodeName and priority', () => {
  const { spec, removed } = cleanPodSpec(runningPod().spec!);
  assert.deepEqual(spec.containers.map((c) => c.name), ['orders']);
  assert.equal(spec.initContainers, undefined);
  assert.deepEqual(spec.volumes?.map((v) => v.name), ['config']);
  assert.deepEqual(spec.containers[0]!.volumeMounts, [{ name: 'config', mountPath: '/config' }]);
  assert.equal(spec.nodeName, undefined);
  assert.equal(spec.priority, undefined);
  assert.equal(spec.serviceAccount, undefined);
  assert.equal(spec.serviceAccountName, 'orders');
  assert.equal(spec.affinity, undefined);
  assert.ok(removed.includes('container istio-proxy'));
  assert.ok(removed.includes('init container istio-init'));
  assert.ok(removed.includes('volume kube-api-access-abcde'));
  assert.ok(removed.includes('nodeName node-a'));
});

test('spec hygiene keeps nodeName when pinned and does not touch its input', () => {
  const src = runningPod().spec!;
  const before = JSON.stringify(src);
  assert.equal(cleanPodSpec(src, { keepNodeName: true }).spec.nodeName, 'node-a');
  assert.equal(JSON.stringify(src), before);
});

test('spec hygiene drops a legacy service-account token secret and native istio sidecars', () => {
  const spec = {
    initContainers: [{ name: 'istio-proxy', image: 'p', restartPolicy: 'Always' }, { name: 'migrate', image: 'm' }],
    containers: [{ name: 'app', image: 'a', volumeMounts: [{ name: 'default-token-x1', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }],
    volumes: [{ name: 'default-token-x1', secret: { secretName: 'default-token-x1' } }, { name: 'dapr-identity-token', projected: { sources: [] } }],
  };
  const { spec: out } = cleanPodSpec(spec);
  assert.deepEqual(out.initContainers?.map((c) => c.name), ['migrate']);
  assert.equal(out.volumes, undefined);
  assert.equal(out.containers[0]!.volumeMounts, undefined);
});

test('a pod clone: keep-alive command, probes, JVM options, /devlane, labels and expiry all in the spec', () => {
  const { pod, appContainer, notes } = buildClonePod(input());
  assert.equal(appContainer, 'orders');
  assert.equal(pod.metadata!.name, 'orders-alice-k3j9');
  assert.equal(pod.metadata!.namespace, 'shop');
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'ownerReferences', 'finalizers', 'managedFields', 'generateName'] as const) {
    assert.equal(pod.metadata![k], undefined, k);
  }
  assert.equal(pod.status, undefined);
  const app = pod.spec!.containers[0]!;
  assert.ok(isSupervised(app.command));
  assert.deepEqual(appCommandOf(app.command!), ['java', '-jar', '/app/orders.jar']);
  assert.equal(app.command![2], escapeKubernetesExpansion(supervisorScript));
  // The kubelet's expansion ($$ → $, $(X) → value) gives back the script exactly.
  const kubeletExpand = (t: string, env: Record<string, string>) => t.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string | undefined) => (m === '$$' ? '$' : v !== undefined && v in env ? env[v]! : m));
  for (const t of ['echo $$ $(cat f) $x $$(y) $(HOME) $', supervisorScript]) assert.equal(kubeletExpand(escapeKubernetesExpansion(t), { HOME: '/root', cat: 'x' }), t);
  assert.equal(app.args, undefined);
  assert.equal(app.livenessProbe, undefined);
  assert.ok(app.readinessProbe);
  assert.ok(app.startupProbe);
  const jto = app.env!.find((e) => e.name === 'JAVA_TOOL_OPTIONS')!.value!;
  assert.equal(jto, '-Xmx256m -agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5005 -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=/devlane');
  assert.deepEqual(app.volumeMounts!.at(-1), { name: 'devlane', mountPath: '/devlane' });
  assert.deepEqual(pod.spec!.volumes!.at(-1), { name: 'devlane', emptyDir: {} });
  assert.equal(pod.spec!.activeDeadlineSeconds, 24 * 3600);
  // The supervisor's watchdog starts from the TTL (the heartbeat renews it inside the clone).
  assert.equal(app.env!.find((e) => e.name === 'DEVLANE_TTL_SECONDS')?.value, String(input().options.ttlMinutes * 60));
  assert.equal(pod.spec!.nodeName, undefined);
  // Out of the Service's and the ReplicaSet's selectors; unrelated labels stay.
  assert.deepEqual(pod.metadata!.labels, {
    tier: 'backend',
    version: 'v1',
    [cloneLabels.clone]: 'true',
    [cloneLabels.cloneOf]: 'orders',
    [cloneLabels.owner]: owner.label,
  });
  const a = pod.metadata!.annotations!;
  assert.equal(a[cloneAnnotations.cloneOf], 'Pod/orders-7c9f8d6b5-x2x9k');
  assert.equal(a[cloneAnnotations.owner], 'alice@example.com (alice@laptop.local)');
  assert.equal(a[cloneAnnotations.expiresAt], '2026-11-22T03:00:00Z');
  assert.deepEqual(JSON.parse(a[cloneAnnotations.originalLabels]!), { app: 'orders', 'pod-template-hash': '7c9f8d6b5', 'security.istio.io/tlsMode': 'istio' });
  assert.equal(JSON.parse(a[cloneAnnotations.options]!).startCommand, 'keep-alive');
  assert.equal(a['sidecar.istio.io/status'], undefined);
  assert.equal(a['prometheus.io/scrape'], 'true');
  assert.ok(notes.some((n) => n.includes('istio-proxy')));
});

test('every option shows in the spec: original command, pin, probes, capture sidecar, resources, env, labels, kept in Services', () => {
  const options = resolveOptions({
    name: 'my-orders',
    startCommand: 'original',
    nodeName: 'node-b',
    removeProbes: { liveness: true, readiness: true, startup: true },
    capture: { enabled: true, mode: 'sidecar', image: 'example/tcpdump:1', filter: 'tcp port 8080', fileSizeMb: 2, fileCount: 3 },
    jvm: { jdwp: { enabled: true, port: 8000, suspend: true }, exceptionLogging: true, heapDumpOnOom: false, extraOptions: ['-Dx=y'] },
    resources: { requests: { cpu: '100m' }, limits: { memory: '512Mi' } },
    env: { MODE: 'dev', NEW: '1' },
    labels: { lane: 'alice' },
    keepInServices: true,
    maxLifetimeHours: 0,
  });
  const { pod } = buildClonePod(input({ options }));
  const spec = pod.spec!;
  assert.equal(pod.metadata!.name, 'my-orders');
  assert.equal(spec.nodeName, 'node-b');
  assert.equal(spec.activeDeadlineSeconds, undefined);
  const app = spec.containers[0]!;
  assert.deepEqual(app.command, ['java']);
  assert.deepEqual(app.args, ['-jar', '/app/orders.jar']);
  assert.equal(app.livenessProbe, undefined);
  assert.equal(app.readinessProbe, undefined);
  assert.equal(app.startupProbe, undefined);
  assert.deepEqual(app.resources, { requests: { cpu: '100m' }, limits: { memory: '512Mi' } });
  const env = Object.fromEntries(app.env!.map((e) => [e.name, e.value]));
  assert.equal(env.MODE, 'dev');
  assert.equal(env.NEW, '1');
  assert.equal(env.DEVLANE_TTL_SECONDS, undefined, 'no supervisor, no watchdog');
  assert.equal(env.JAVA_TOOL_OPTIONS, '-Xmx256m -agentlib:jdwp=transport=dt_socket,server=y,suspend=y,address=*:8000 -Xlog:exceptions=info -Dx=y');
  const cap = spec.containers.find((c) => c.name === captureContainerName)!;
  assert.equal(cap.image, 'example/tcpdump:1');
  assert.deepEqual(cap.command!.slice(4), ['-i', 'any', '-U', '-Z', 'root', '-w', '/devlane/capture/capture.pcap', '-C', '2', '-W', '3', 'tcp port 8080']);
  assert.deepEqual(cap.securityContext?.capabilities?.add, ['NET_RAW', 'NET_ADMIN']);
  assert.deepEqual(cap.volumeMounts, [{ name: 'devlane', mountPath: '/devlane' }]);
  // Kept in the Service on request, but never in the ReplicaSet's selector.
  assert.equal(pod.metadata!.labels!.app, 'orders');
  assert.equal(pod.metadata!.labels!['pod-template-hash'], undefined);
  assert.equal(pod.metadata!.labels!.lane, 'alice');
});

test('capture from the image: the supervisor gets its settings as env and the app container the capabilities', () => {
  const options = resolveOptions({ capture: { enabled: true, mode: 'image', filter: 'port 80' } });
  const { pod } = buildClonePod(input({ options }));
  const app = pod.spec!.containers[0]!;
  const env = Object.fromEntries(app.env!.map((e) => [e.name, e.value]));
  assert.equal(env.DEVLANE_CAPTURE, 'image');
  assert.equal(env.DEVLANE_CAPTURE_FILTER, 'port 80');
  assert.equal(env.DEVLANE_CAPTURE_MB, '10');
  assert.deepEqual(app.securityContext?.capabilities?.add, ['NET_RAW', 'NET_ADMIN']);
  assert.equal(pod.spec!.containers.length, 1);
  assert.throws(() => buildClonePod(input({ options: resolveOptions({ startCommand: 'original', capture: { enabled: true, mode: 'image' } }) })), (e) => isDevlaneError(e) && e.reason === 'invalid-input');
});

test('keep-alive without a command in the spec asks for the app command', () => {
  const i = input();
  const spec = structuredClone(i.source.spec);
  delete spec.containers[0]!.command;
  delete spec.containers[0]!.args;
  assert.throws(() => buildClonePod({ ...i, source: { ...i.source, spec } }), (e) => isDevlaneError(e) && e.reason === 'invalid-input' && /appCommand/.test(e.message));
  const { pod } = buildClonePod({ ...i, source: { ...i.source, spec }, options: resolveOptions({ appCommand: ['/app/run.sh', '--port', '8080'] }) });
  assert.deepEqual(appCommandOf(pod.spec!.containers[0]!.command!), ['/app/run.sh', '--port', '8080']);
});

test('a Deployment template clone takes the workload name and an unknown container is a clear error', () => {
  const pod = runningPod();
  const { pod: clone } = buildClonePod(input({ source: { kind: 'Deployment', namespace: 'shop', name: 'orders', metadata: { labels: { app: 'orders' } }, spec: pod.spec! } }));
  assert.equal(clone.metadata!.annotations![cloneAnnotations.cloneOf], 'Deployment/orders');
  assert.equal(clone.metadata!.labels![cloneLabels.cloneOf], 'orders');
  assert.throws(() => buildClonePod(input({ options: resolveOptions({ container: 'nope' }) })), (e) => isDevlaneError(e) && /orders/.test(e.message));
});

test('JVM options can all be off', () => {
  assert.deepEqual(jvmToolOptions(resolveOptions({ jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } })), []);
  const { pod } = buildClonePod(input({ options: resolveOptions({ jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }) }));
  assert.equal(pod.spec!.containers[0]!.env!.find((e) => e.name === 'JAVA_TOOL_OPTIONS')!.value, '-Xmx256m');
});

test('label selectors: all operators, and detaching removes only the matching selectors keys', () => {
  const labels = { app: 'orders', tier: 'backend', env: 'dev' };
  assert.ok(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'x'] }] }, labels));
  assert.ok(!selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] }, labels));
  assert.ok(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, labels));
  assert.ok(!selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, labels));
  assert.ok(selectorMatches({}, labels));
  const d = detachFromSelectors(labels, [
    { source: 'Service/a', kind: 'service', selector: { matchLabels: { app: 'orders' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] } },
    { source: 'Service/b', kind: 'service', selector: { matchLabels: { app: 'other' } } },
    { source: 'X/neg', kind: 'controller', selector: { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] } },
  ], false);
  assert.deepEqual(d.labels, { env: 'dev' });
  assert.deepEqual(d.moved, { app: 'orders', tier: 'backend' });
  assert.deepEqual(d.stillMatching, ['X/neg']);
  assert.equal(serviceSelector({}), undefined);
});

test('owner identity is stable, label-safe and tells similar people apart', () => {
  const a = ownerIdentity({ kubeUser: 'oidc:https://idp.example.com#' + 'x'.repeat(80), osUser: 'Jörg Müller', host: 'build.box.example' });
  assert.match(a.label, /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
  assert.ok(a.label.length <= 63);
  assert.equal(ownerIdentity({ kubeUser: 'oidc:https://idp.example.com#' + 'x'.repeat(80), osUser: 'Jörg Müller', host: 'build.box.example' }).label, a.label);
  const b = ownerIdentity({ kubeUser: 'u', osUser: 'a.b', host: 'h' });
  const c = ownerIdentity({ kubeUser: 'u', osUser: 'a_b', host: 'h' });
  assert.notEqual(b.label, c.label);
  assert.notEqual(ownerIdentity({ kubeUser: 'u1', osUser: 'a', host: 'h' }).label, ownerIdentity({ kubeUser: 'u2', osUser: 'a', host: 'h' }).label);
  assert.equal(sanitizeLabelValue('--a b--'), 'a-b');
  assert.equal(sanitizeLabelValue('***'), '');
});

test('clone names are DNS labels of at most 63 characters that keep the suffix', () => {
  const n = cloneName('a-very-long-deployment-name-that-goes-on-and-on-and-on-forever-and-more', owner.label, 'zz99');
  assert.ok(n.length <= 63, n);
  assert.match(n, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.ok(n.endsWith('-alice-zz99'));
  assert.equal(baseNameOf({ kind: 'Pod', name: 'web-0', metadata: { name: 'web-0' } }), 'web-0');
  assert.equal(baseNameOf({ kind: 'Pod', name: 'x', metadata: { generateName: 'orders-7c9f-', labels: { 'pod-template-hash': '7c9f' } } }), 'orders');
});
