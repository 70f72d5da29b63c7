import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchV1Api, KubeConfig } from '@kubernetes/client-node';
import { isDevlaneError } from '../../../extension/core/errors';
import { CloneKeeper, expiryOf } from '../../../extension/core/clones/keeper';
import { leaseName } from '../../../extension/core/clones/lease';
import { httpCode } from '../../../extension/core/kube/probe';
import { createClone, deleteClone, getOwnClone, listClones, patchExpiry, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { ServerClock } from '../../../extension/core/clones/serverClock';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { limitedUser } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, type Fixture } from './fixture';

let kc: KubeConfig;
let fx: Fixture;

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc, { orders: false });
});

after(async () => {
  await fx?.dispose();
});

const cheap = resolveOptions({ ttlMinutes: 60, jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } });

async function exists(name: string): Promise<boolean> {
  try {
    const p = await fx.core.readNamespacedPod({ name, namespace: fx.namespace });
    return !p.metadata?.deletionTimestamp;
  } catch {
    return false;
  }
}

test('the reaper deletes only the current owner\'s expired clones, by the server\'s clock; the heartbeat renews the rest', async () => {
  const alice = envFor(kc, 'alice');
  const bob = envFor(kc, 'bob');
  const src = { kind: 'Deployment' as const, namespace: fx.namespace, name: 'sleeper' };
  const [a1, a2, b1] = await Promise.all([createClone(alice, src, cheap), createClone(alice, src, cheap), createClone(bob, src, cheap)]);
  const keeper = new CloneKeeper(alice, { namespaces: () => [fx.namespace] });
  try {
    const past = new Date(Date.now() - 60 * 60_000);
    await patchExpiry(alice, a1!.pod, past);
    await patchExpiry(bob, b1!.pod, past);

    // A laptop whose clock runs three hours fast must not judge a2 (an hour left) expired.
    const skewed: CloneEnv = { ...alice, clock: new ServerClock(kc, 60_000, () => Date.now() + 3 * 3600_000) };
    const skewedKeeper = new CloneKeeper(skewed, { namespaces: () => [fx.namespace] });
    try {
      const r = await skewedKeeper.tick();
      assert.deepEqual(r.reaped, [`${fx.namespace}/${a1!.info.ref.name}`]);
    } finally {
      await skewedKeeper.dispose();
    }
    await waitFor('a1 to be deleted', async () => !(await exists(a1!.info.ref.name)), { timeoutMs: 60_000, intervalMs: 250 });
    await waitFor("a1's lease to be deleted with it", () => kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: leaseName(a1!.info.ref.name), namespace: fx.namespace }).then(() => undefined, (e: unknown) => httpCode(e) === 404 || undefined), { timeoutMs: 60_000, intervalMs: 250 });
    assert.ok(b1!.info.lease && (await kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: b1!.info.lease, namespace: fx.namespace })), "someone else's lease stays");
    assert.ok(await exists(a2!.info.ref.name), 'a live clone of the same owner stays');
    assert.ok(await exists(b1!.info.ref.name), "someone else's expired clone stays");

    // Another pass finds nothing more to reap; with activity it renews a2.
    const before = expiryOf(await getOwnClone(alice, fx.namespace, a2!.info.ref.name))!;
    await patchExpiry(alice, a2!.pod, new Date(before.getTime() - 30 * 60_000));
    keeper.markActive();
    const r2 = await keeper.tick();
    assert.deepEqual(r2.reaped, []);
    assert.deepEqual(r2.renewed, [`${fx.namespace}/${a2!.info.ref.name}`]);
    const renewed = expiryOf(await getOwnClone(alice, fx.namespace, a2!.info.ref.name))!;
    assert.ok(renewed.getTime() > before.getTime() - 30 * 60_000 + 20 * 60_000, `renewed to ${renewed.toISOString()}`);
    // Without activity since, the next beat renews nothing.
    assert.deepEqual((await keeper.tick()).renewed, []);
    assert.deepEqual((await listClones(bob, [fx.namespace])).map((c) => c.ref.name), [b1!.info.ref.name]);
  } finally {
    await keeper.dispose();
    await Promise.all([deleteClone(alice, fx.namespace, a2!.info.ref.name).catch(() => undefined), deleteClone(bob, fx.namespace, b1!.info.ref.name).catch(() => undefined)]);
  }
});

test('RBAC: a developer who may not create pods is told which verb on which resource is missing', async () => {
  const ns = fx.namespace;
  const limited = await limitedUser(kc, ns, 'viewer', [
    { apiGroups: [''], resources: ['pods', 'services', 'events'], verbs: ['get', 'list'] },
    { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list'] },
  ]);
  const viewer = envFor(limited, 'viewer');
  await assert.rejects(
    createClone(viewer, { kind: 'Deployment', namespace: ns, name: 'sleeper' }, cheap),
    (e) => isDevlaneError(e) && e.reason === 'rbac-forbidden' && /not allowed to create pods in namespace/.test(e.message) && /verb "create" on resource "pods"/.test(e.message),
  );
  assert.equal((await listClones(viewer, [ns])).length, 0);
});
