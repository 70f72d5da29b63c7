import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { execIn } from '../../../extension/core/kube/exec';
import { createClone, deleteClone, extendClone, getOwnClone, renewInClone, restartApp, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, type Fixture } from './fixture';

/**
 * Inside the clone, the keep-alive supervisor enforces the expiry too: the heartbeat (and Extend)
 * move it through exec; when it passes unrenewed — VS Code crashed, the developer left — the app
 * is stopped, so nothing runs beyond the TTL even before the reaper deletes the pod.
 */
let kc: KubeConfig;
let fx: Fixture;
let me: CloneEnv;

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc, { orders: false });
  me = envFor(kc, 'heidi');
});

after(async () => {
  await fx?.dispose();
});

test('an unrenewed clone stops its app at expiry; Extend moves the expiry inside the clone; a restart brings the app back', async () => {
  // The watchdog looks every second here (15 s by default).
  const { info } = await createClone(me, { kind: 'Deployment', namespace: fx.namespace, name: 'sleeper' }, resolveOptions({ ttlMinutes: 1, env: { DEVLANE_WATCH_SECONDS: '1' }, jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }));
  const name = info.ref.name;
  const sh = async (script: string) => (await execIn(kc, fx.namespace, name, 'main', ['/bin/sh', '-c', script], { timeoutMs: 30_000 })).stdout.toString('utf8').trim();
  try {
    const [now0, exp0] = (await sh('date +%s; cat /devlane/expires')).split('\n').map(Number);
    assert.ok(exp0! - now0! > 40 && exp0! - now0! <= 60, `expires ${exp0! - now0!} s after now, TTL 60 s`);

    await extendClone(me, fx.namespace, name, 30);
    const [now1, exp1] = (await sh('date +%s; cat /devlane/expires')).split('\n').map(Number);
    assert.ok(exp1! - now1! > 29 * 60, `extended to ${exp1! - now1!} s from now`);
    assert.match(await sh('cat /devlane/app.run'), /^1 /);

    // What a missing heartbeat comes to, without waiting out a TTL: an expiry in a second.
    await renewInClone(me, await getOwnClone(me, fx.namespace, name), 1);
    await waitFor('the watchdog to stop the app', async () => (await sh('cat /devlane/app.exit 2>/dev/null || true')).startsWith('1 ') || undefined, { timeoutMs: 60_000, intervalMs: 500 });
    const pod = await fx.core.readNamespacedPod({ namespace: fx.namespace, name });
    assert.equal(pod.status?.phase, 'Running', 'the pod (its supervisor) stays: the reaper deletes it');
    assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, 0);
    const log = await fx.core.readNamespacedPodLog({ namespace: fx.namespace, name, container: 'main' });
    assert.match(log, /the clone expired \(no heartbeat from Devlane\): app stopped/);

    // The developer is back: extend (renews inside) and restart.
    await extendClone(me, fx.namespace, name, 30);
    await restartApp(me, fx.namespace, name);
    await waitFor('run 2 of the app', async () => (await sh('cat /devlane/app.run')).startsWith('2 ') || undefined, { timeoutMs: 60_000, intervalMs: 500 });
  } finally {
    await deleteClone(me, fx.namespace, name);
  }
});
