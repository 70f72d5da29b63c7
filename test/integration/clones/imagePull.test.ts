import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { isDevlaneError } from '../../../extension/core/errors';
import { cloneLabels } from '../../../extension/core/clones/labels';
import { createClone, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, type Fixture } from './fixture';

/**
 * A capture sidecar image that cannot be pulled (its registry is under the reserved .invalid
 * domain, which the test cluster's pod runner treats as unpullable): the clone creation says
 * which image of which container, and rolls the clone back.
 */
let kc: KubeConfig;
let fx: Fixture;
let me: CloneEnv;

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc, { orders: false });
  me = envFor(kc, 'grace');
});

after(async () => {
  await fx?.dispose();
});

test('an image that cannot be pulled: a clear error naming image and container, and nothing left behind', async () => {
  const image = 'registry.devlane.invalid/netshoot:v0.13';
  const options = resolveOptions({ capture: { enabled: true, mode: 'sidecar', image }, jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } });
  await assert.rejects(createClone(me, { kind: 'Deployment', namespace: fx.namespace, name: 'sleeper' }, options, { startTimeoutMs: 120_000 }), (e) => {
    assert.ok(isDevlaneError(e), String(e));
    assert.equal(e.reason, 'image-pull', e.message);
    assert.match(e.message, /The image "registry\.devlane\.invalid\/netshoot:v0\.13" of container "devlane-capture"/);
    assert.match(e.message, /ErrImagePull|ImagePullBackOff/);
    assert.match(e.message, /choose another capture image/);
    return true;
  });
  await waitFor('the rolled-back clone to be gone', async () => {
    const pods = await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `${cloneLabels.clone}=true` });
    return pods.items.length === 0 || undefined;
  }, { timeoutMs: 60_000, intervalMs: 250 });
});
