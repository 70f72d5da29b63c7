// The test cluster's control plane through @kubernetes/client-node: list and watch pods, the
// scheduler's events, nodes with real capacity (so an over-sized pod stays Pending).
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, Watch, type CoreV1Event, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { testCluster, testNamespace, waitForPodReady, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';

function sleeper(name: string, cpu = '10m'): V1Pod {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo started; exec sleep 3600'], resources: { requests: { cpu, memory: '16Mi' } } }],
      terminationGracePeriodSeconds: 1,
    },
  };
}

async function eventsFor(core: CoreV1Api, namespace: string, pod: string): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${pod}` });
  return list.items;
}

describe('test cluster: API server, scheduler, watch', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns: TestNamespace;

  before(async () => {
    ({ kc } = await testCluster());
    core = kc.makeApiClient(CoreV1Api);
    ns = await testNamespace(kc, 'cluster-api');
  });
  after(async () => {
    await ns?.dispose();
  });

  it('has kwok nodes with 4 CPU, 8 GiB and 110 pods, Ready', async () => {
    const nodes = await core.listNode({ labelSelector: 'devlane.dev/node' });
    assert.ok(nodes.items.length >= 1);
    for (const n of nodes.items) {
      assert.equal(n.status?.allocatable?.cpu, '4');
      assert.equal(n.status?.allocatable?.memory, '8Gi');
      assert.equal(n.status?.allocatable?.pods, '110');
      assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    }
  });

  it('watches a pod from creation to Running and Ready, and lists it', async () => {
    const seen: { type: string; phase?: string; ready?: boolean }[] = [];
    const watch = new Watch(kc);
    let watchError: unknown;
    const controller = await watch.watch(
      `/api/v1/namespaces/${ns.name}/pods`,
      {},
      (type: string, pod: V1Pod) => {
        seen.push({ type, phase: pod.status?.phase, ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') });
      },
      (err: unknown) => {
        watchError = err;
      },
    );
    try {
      await core.createNamespacedPod({ namespace: ns.name, body: sleeper('watched') });
      await waitFor('the watch to report the pod Running and Ready', () => seen.some((s) => s.type === 'MODIFIED' && s.phase === 'Running' && s.ready), { timeoutMs: 60_000 });
      assert.equal(seen[0]?.type, 'ADDED');
      assert.ok(seen.some((s) => s.phase === 'Pending'), 'the pod is Pending before its process runs');
      const list = await core.listNamespacedPod({ namespace: ns.name });
      const pod = list.items.find((p) => p.metadata?.name === 'watched');
      assert.ok(pod?.status?.podIP?.startsWith('10.244.'), `pod IP from a node's podCIDR, got ${pod?.status?.podIP}`);
      assert.ok(pod?.spec?.nodeName?.startsWith('devlane-node-'));
      assert.equal(watchError, undefined);
    } finally {
      controller.abort();
    }
  });

  it('emits Scheduled for a pod that fits and FailedScheduling for one that fits no node', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: sleeper('fits') });
    await core.createNamespacedPod({ namespace: ns.name, body: sleeper('too-big', '64') });
    const scheduled = await waitFor('a Scheduled event', async () => (await eventsFor(core, ns.name, 'fits')).find((e) => e.reason === 'Scheduled'), { timeoutMs: 60_000 });
    assert.equal(scheduled.type, 'Normal');
    const failed = await waitFor('a FailedScheduling event', async () => (await eventsFor(core, ns.name, 'too-big')).find((e) => e.reason === 'FailedScheduling'), { timeoutMs: 60_000 });
    assert.equal(failed.type, 'Warning');
    assert.match(failed.message ?? '', /Insufficient cpu/);
    const big = await core.readNamespacedPod({ name: 'too-big', namespace: ns.name });
    assert.equal(big.status?.phase, 'Pending');
    assert.equal(big.spec?.nodeName, undefined);
    const ok = await waitForPodReady(kc, ns.name, 'fits');
    assert.equal(ok.status?.phase, 'Running');
    // The pod runner reports like a kubelet: a Started event for the container.
    await waitFor('a Started event from the kubelet stand-in', async () => (await eventsFor(core, ns.name, 'fits')).find((e) => e.reason === 'Started' && e.source?.component === 'kubelet'), { timeoutMs: 30_000 });
  });
});
