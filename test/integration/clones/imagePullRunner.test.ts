import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { PodInstance } from '../../../cluster/pod-runner/pod';
import { diagnosePod } from '../../../extension/core/clones/diagnose';
import { silentLogger } from '../../../extension/core/log';
import { testNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { clusterKc } from './fixture';

/**
 * The pod runner's image-pull failure, checked against the real API server without restarting the
 * shared cluster: this test runs the runner's PodInstance itself for a pod bound to a node no
 * runner or kwok serves (so nothing else touches it), with host networking (so it needs no pod
 * network). The status and events it writes are what a clone creation then diagnoses.
 */
test('an image under .invalid waits in ErrImagePull, then ImagePullBackOff, with events; the clone diagnosis names the image', async () => {
  const kc = await clusterKc();
  const core = kc.makeApiClient(CoreV1Api);
  const ns = await testNamespace(kc, 'clones-pull');
  const podsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-pull-runner-'));
  let instance: PodInstance | undefined;
  try {
    const image = 'registry.devlane.invalid/tools/tcpdump:1';
    const created = await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'pull' },
        spec: {
          nodeName: 'devlane-test-unserved',
          hostNetwork: true,
          terminationGracePeriodSeconds: 1,
          containers: [
            { name: 'app', image: 'busybox', command: ['sleep', '3600'] },
            { name: 'devlane-capture', image, command: ['tcpdump', '-i', 'any'] },
          ],
        },
      },
    });
    instance = new PodInstance(created, { kc, log: silentLogger, podsDir, images: () => undefined });
    await instance.start();

    const statusOf = async (): Promise<V1Pod> => core.readNamespacedPod({ name: 'pull', namespace: ns.name });
    const capture = (p: V1Pod) => p.status?.containerStatuses?.find((c) => c.name === 'devlane-capture');
    const first = await waitFor('ErrImagePull', async () => {
      const p = await statusOf();
      return capture(p)?.state?.waiting?.reason === 'ErrImagePull' ? p : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    assert.match(capture(first)?.state?.waiting?.message ?? '', /lookup registry\.devlane\.invalid: no such host/);
    const backOff = await waitFor('ImagePullBackOff', async () => {
      const p = await statusOf();
      return capture(p)?.state?.waiting?.reason === 'ImagePullBackOff' ? p : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    assert.equal(capture(backOff)?.state?.waiting?.message, `Back-off pulling image "${image}"`);
    // The other container runs regardless, as under a kubelet.
    const app = await waitFor('the app container to run', async () => {
      const p = await statusOf();
      return p.status?.containerStatuses?.find((c) => c.name === 'app')?.state?.running ? p : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    assert.equal(capture(app)?.ready, false);

    const events = await waitFor('the pull events', async () => {
      const list = (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=pull' })).items;
      return list.some((e) => e.reason === 'Failed' && e.message?.startsWith(`Failed to pull image "${image}"`)) && list.some((e) => e.reason === 'BackOff') ? list : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const d = diagnosePod(backOff, events, 'app', true);
    assert.ok(d.state === 'failed' && d.error.reason === 'image-pull', JSON.stringify(d));
    assert.match(d.error.message, /The image "registry\.devlane\.invalid\/tools\/tcpdump:1" of container "devlane-capture" .* cannot be pulled \(ImagePullBackOff/);
  } finally {
    await instance?.stop(0);
    fs.rmSync(podsDir, { recursive: true, force: true });
    // Bound to a node nobody serves: only a force delete (which ns.dispose does) removes the pod.
    await ns.dispose();
  }
});
