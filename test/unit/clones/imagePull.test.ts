import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { imagePullError, pullBackOffMs } from '../../../cluster/pod-runner/spec';
import { diagnosePod } from '../../../extension/core/clones/diagnose';

test('the test cluster fails the pull of an image whose registry is under .invalid, and only that', () => {
  const e = imagePullError('registry.devlane.invalid/tools/tcpdump:4.99');
  assert.ok(e);
  assert.match(e, /"registry\.devlane\.invalid\/tools\/tcpdump:4\.99"/);
  assert.match(e, /lookup registry\.devlane\.invalid: no such host/);
  assert.match(imagePullError('Registry.Invalid:5000/app@sha256:abc') ?? '', /lookup registry\.invalid: no such host/);
  for (const fine of ['busybox', 'nicolaka/netshoot:v0.13', 'devlane.local/shop-orders:dev', 'docker.io/library/node:20', 'invalid/app:1', 'localhost:5000/app', 'my.invalid.example.com/app']) {
    assert.equal(imagePullError(fine), undefined, fine);
  }
});

test('pull attempts back off like a kubelet, doubling up to a cap', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(pullBackOffMs), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
});

test('a clone with a container in ErrImagePull or ImagePullBackOff is a pull failure naming the image', () => {
  for (const reason of ['ErrImagePull', 'ImagePullBackOff']) {
    const pod: V1Pod = {
      metadata: { namespace: 'shop', name: 'orders-x' },
      status: {
        phase: 'Running',
        conditions: [{ type: 'PodScheduled', status: 'True' }],
        containerStatuses: [
          { name: 'orders', image: 'devlane.local/shop-orders', imageID: '', ready: true, restartCount: 0, state: { running: {} } },
          { name: 'devlane-capture', image: 'registry.devlane.invalid/tcpdump:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message: 'lookup registry.devlane.invalid: no such host' } } },
        ],
      },
    };
    const d = diagnosePod(pod, [], 'orders', true);
    assert.ok(d.state === 'failed' && d.error.reason === 'image-pull', JSON.stringify(d));
    assert.match(d.error.message, /"registry\.devlane\.invalid\/tcpdump:1" of container "devlane-capture"/);
    assert.match(d.error.message, new RegExp(reason));
  }
});
