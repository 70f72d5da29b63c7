import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { explainPodStatus, explainScheduling, parseSchedulingMessage, podRequest } from '../../../extension/core/observe/explain';
import { parseQuantity } from '../../../extension/core/observe/quantity';

const node = (name: string, cpu: string, memory: string, extra: Partial<V1Node> = {}): V1Node => ({ metadata: { name, labels: { 'kubernetes.io/hostname': name } }, status: { allocatable: { cpu, memory, pods: '110' } }, ...extra });
const pod = (spec: Partial<V1Pod['spec']> & { containers: NonNullable<V1Pod['spec']>['containers'] }): V1Pod => ({ metadata: { name: 'orders-clone', uid: 'u1' }, spec });

test('quantities', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('128Mi'), 128 * 2 ** 20);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('abc'), undefined);
});

test('the FitError format splits into counted reasons and the preemption part', () => {
  const m = parseSchedulingMessage("0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
  assert.equal(m.totalNodes, 3);
  assert.deepEqual(m.items, [
    { count: 1, reason: 'Insufficient cpu' },
    { count: 1, reason: 'node(s) had untolerated taint {dedicated: gpu}' },
    { count: 1, reason: "node(s) didn't match Pod's node affinity/selector" },
  ]);
  assert.equal(m.preemption, '0/3 nodes are available: 3 Preemption is not helpful for scheduling');
  // Kubernetes 1.36, from the test cluster's scheduler: a DRA post-filter message before preemption's.
  const dra = parseSchedulingMessage('0/2 nodes are available: 2 Insufficient cpu. no new claims to deallocate, preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
  assert.deepEqual(dra.items, [{ count: 2, reason: 'Insufficient cpu' }]);
  assert.deepEqual(dra.postFilter, ['no new claims to deallocate']);
  assert.equal(dra.preemption, '0/2 nodes are available: 2 Preemption is not helpful for scheduling');
  const pre = parseSchedulingMessage('0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
  assert.deepEqual(pre.items, [{ reason: 'pod has unbound immediate PersistentVolumeClaims' }]);
});

test('insufficient cpu and memory are explained with the pod request and the free room', () => {
  const p = pod({ containers: [{ name: 'app', resources: { requests: { cpu: '64', memory: '200Gi' } } }, { name: 'side', resources: { requests: { cpu: '500m' } } }] });
  const other: V1Pod = { metadata: { uid: 'o' }, spec: { nodeName: 'n1', containers: [{ name: 'x', resources: { requests: { cpu: '1500m', memory: '1Gi' } } }] }, status: { phase: 'Running' } };
  const x = explainScheduling('0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.', {
    pod: p,
    nodes: [node('n1', '8', '32Gi'), node('n2', '4', '16Gi')],
    podsByNode: new Map([['n1', [other]]]),
  });
  assert.equal(podRequest(p, 'cpu'), 64.5);
  assert.match(x.reasons[0] ?? '', /requests 64\.5 cpu/);
  assert.match(x.reasons[0] ?? '', /n1, has 8 allocatable, 1\.5 of it already requested/);
  assert.match(x.reasons[0] ?? '', /6\.5 is free/);
  assert.match(x.fixes[0] ?? '', /resources\.requests\.cpu of container "app" \(now 64\) to at most 6\.5/);
  assert.match(x.reasons[1] ?? '', /requests 200Gi memory/);
  assert.match(x.summary, /2 nodes/);
});

test('init containers count by their maximum, sidecars add up', () => {
  const p = pod({ initContainers: [{ name: 'migrate', resources: { requests: { cpu: '3' } } }, { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '1' } } }], containers: [{ name: 'app', resources: { requests: { cpu: '1' } } }] });
  assert.equal(podRequest(p, 'cpu'), 3);
  const q = pod({ initContainers: [{ name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '1' } } }], containers: [{ name: 'app', resources: { requests: { cpu: '1' } } }] });
  assert.equal(podRequest(q, 'cpu'), 2);
});

test('untolerated taints are named with a toleration to add', () => {
  const p = pod({ containers: [{ name: 'app' }], tolerations: [{ key: 'other', operator: 'Exists' }] });
  const x = explainScheduling('0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.', {
    pod: p,
    nodes: [node('n1', '8', '32Gi', { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, { key: 'soft', effect: 'PreferNoSchedule' }, { key: 'other', effect: 'NoSchedule' }] } })],
  });
  assert.match(x.reasons[0] ?? '', /dedicated=gpu:NoSchedule \(on n1\)/);
  assert.doesNotMatch(x.reasons[0] ?? '', /soft|other/);
  assert.match(x.fixes[0] ?? '', /key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule"/);
});

test('node selector mismatch names the label and what the nodes have', () => {
  const p = pod({ containers: [{ name: 'app' }], nodeSelector: { zone: 'eu-1' } });
  const x = explainScheduling("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.", {
    pod: p,
    nodes: [node('n1', '8', '32Gi', { metadata: { name: 'n1', labels: { zone: 'us-1' } } })],
  });
  assert.match(x.reasons[0] ?? '', /zone=eu-1 \(nodes have zone=us-1\)/);
  assert.match(x.fixes[0] ?? '', /kubectl label node <node> zone=eu-1/);
});

test('unbound claims are named with their phase', () => {
  const p = pod({ containers: [{ name: 'app' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }, { name: 'missing', persistentVolumeClaim: { claimName: 'nope' } }] });
  const x = explainScheduling('0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.', {
    pod: p,
    nodes: [node('n1', '8', '32Gi')],
    claims: new Map([['data', { spec: { storageClassName: 'slow', resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Pending' } }]]),
  });
  assert.match(x.reasons[0] ?? '', /claim "data" is Pending \(storage class slow, 1Gi requested\)/);
  assert.match(x.reasons[0] ?? '', /claim "nope" does not exist/);
});

test('container statuses: image pull, crash loop, OOMKilled', () => {
  const p: V1Pod = {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'a', image: 'nope:1' }, { name: 'b', image: 'x', resources: { limits: { memory: '64Mi' } } }, { name: 'c', image: 'y' }] },
    status: {
      containerStatuses: [
        { name: 'a', image: 'nope:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope:1"' } } },
        { name: 'b', image: 'x', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } },
        { name: 'c', image: 'y', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } },
      ],
    },
  };
  const xs = explainPodStatus(p);
  assert.equal(xs.length, 3);
  assert.match(xs[0]!.summary, /image of container "a" cannot be pulled \(ImagePullBackOff\)/);
  assert.match(xs[0]!.fixes.join(' '), /imagePullSecrets/);
  assert.match(xs[1]!.reasons.join(' '), /exit code 137 \(OOMKilled\)/);
  assert.match(xs[1]!.fixes[0]!, /limits\.memory of "b" \(now 64Mi\)/);
  assert.match(xs[2]!.fixes[0]!, /previous log/);
});
