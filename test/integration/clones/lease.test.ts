import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import { httpCode } from '../../../extension/core/kube/probe';
import { isDevlaneError } from '../../../extension/core/errors';
import { CloneKeeper } from '../../../extension/core/clones/keeper';
import { createLease, leaseName, leaseStart } from '../../../extension/core/clones/lease';
import { createClone, deleteClone, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { limitedUser } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, type Fixture } from './fixture';

/**
 * The lease: a pod-less Job per clone whose deadline is the clone's expiry. When VS Code is gone,
 * the control plane alone (job controller → TTL-after-finished → garbage collector) deletes the
 * clone at its TTL. These tests use the shortest TTL the options allow (1 minute).
 */
let kc: KubeConfig;
let fx: Fixture;
let batch: BatchV1Api;

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc, { orders: false });
  batch = kc.makeApiClient(BatchV1Api);
});

after(async () => {
  await fx?.dispose();
});

const oneMinute = resolveOptions({ ttlMinutes: 1, jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } });
const sleeper = () => ({ kind: 'Deployment' as const, namespace: fx.namespace, name: 'sleeper' });

async function readJob(name: string): Promise<V1Job | undefined> {
  try {
    return await batch.readNamespacedJob({ name, namespace: fx.namespace });
  } catch (e) {
    if (httpCode(e) === 404) return undefined;
    throw e;
  }
}

/** True once the object is gone from the API (not merely terminating). */
async function podGone(name: string): Promise<boolean> {
  try {
    await fx.core.readNamespacedPod({ name, namespace: fx.namespace });
    return false;
  } catch (e) {
    if (httpCode(e) === 404) return true;
    throw e;
  }
}

async function podLive(name: string): Promise<boolean> {
  try {
    return !(await fx.core.readNamespacedPod({ name, namespace: fx.namespace })).metadata?.deletionTimestamp;
  } catch (e) {
    if (httpCode(e) === 404) return false;
    throw e;
  }
}

/** Waits (polling) until the server's clock has passed `t`. */
async function serverTimePasses(env: CloneEnv, t: Date, what: string): Promise<void> {
  await waitFor(what, async () => (await env.clock.now()).getTime() > t.getTime(), { timeoutMs: 5 * 60_000, intervalMs: 500 });
}

// The cases wait out real deadlines; run side by side so the file takes about two of them.
describe('clone leases', { concurrency: true }, () => {
  test('a clone whose VS Code crashed (no keeper ever runs) is deleted with its lease by the cluster at its TTL', async (t) => {
    const me = envFor(kc, 'crash');
    const { info, pod } = await createClone(me, sleeper(), oneMinute);
    const name = info.ref.name;
    try {
      assert.equal(info.lease, leaseName(name));
      const job = await readJob(leaseName(name));
      assert.ok(job, 'the lease exists');
      assert.deepEqual(pod.metadata?.ownerReferences?.map((o) => ({ ...o })), [{ apiVersion: 'batch/v1', kind: 'Job', name: leaseName(name), uid: job.metadata?.uid, controller: false, blockOwnerDeletion: false }]);
      assert.equal(job.spec?.parallelism, 0);
      assert.equal(job.spec?.activeDeadlineSeconds, 60);
      assert.equal(job.metadata?.labels?.['devlane.io/owner'], me.owner.label);
      // The job controller starts the clock of a pod-less Job (it would not for a suspended one).
      const started = await waitFor('the lease to be started', async () => (await readJob(leaseName(name)))?.status?.startTime, { timeoutMs: 60_000, intervalMs: 250 });
      assert.equal((await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `job-name=${leaseName(name)}` })).items.length, 0, 'the lease runs no pod');
      assert.ok(await podLive(name), 'alive before its TTL');
      await waitFor('the clone pod to be deleted by the cluster', () => podGone(name), { timeoutMs: 4 * 60_000, intervalMs: 1000 });
      assert.equal(await readJob(leaseName(name)), undefined, 'the lease went first');
      // Not earlier than its deadline, by the server's clock (startTime has whole seconds and the
      // clock offset is known to about a second: hence the 2 s of slack).
      const goneAfter = ((await me.clock.now()).getTime() - new Date(started).getTime()) / 1000;
      t.diagnostic(`pod gone ${goneAfter.toFixed(1)} s after the lease started (deadline 60 s)`);
      assert.ok(goneAfter >= 58, `deleted ${goneAfter} s after the lease started, before its 60 s deadline`);
    } finally {
      await deleteClone(me, fx.namespace, name).catch(() => undefined);
    }
  });

  test('a renewed clone outlives its first deadline, and goes when the renewals stop', async () => {
    const me = envFor(kc, 'renew');
    const { info } = await createClone(me, sleeper(), oneMinute);
    const name = info.ref.name;
    const keeper = new CloneKeeper(me, { namespaces: () => [fx.namespace] });
    try {
      const job = await waitFor('the lease to be started', async () => {
        const j = await readJob(leaseName(name));
        return j?.status?.startTime ? j : undefined;
      }, { timeoutMs: 60_000, intervalMs: 250 });
      const start = leaseStart(job)!;
      const firstDeadline = new Date(start.getTime() + 60_000);
      for (const at of [20_000, 40_000]) {
        await serverTimePasses(me, new Date(start.getTime() + at), `${at / 1000} s into the lease`);
        keeper.markActive();
        assert.deepEqual((await keeper.tick()).renewed, [`${fx.namespace}/${name}`]);
        const renewed = await readJob(leaseName(name));
        assert.ok((renewed?.spec?.activeDeadlineSeconds ?? 0) >= at / 1000 + 55, `deadline moved to ${renewed?.spec?.activeDeadlineSeconds} s`);
      }
      await serverTimePasses(me, new Date(firstDeadline.getTime() + 10_000), 'the first deadline to pass');
      assert.ok(await podLive(name), 'the renewed clone is still there after its first deadline');
      assert.ok(await readJob(leaseName(name)), 'and so is its lease');
      // The developer leaves (no more beats): the cluster deletes it.
      await keeper.dispose();
      await waitFor('the clone pod to be deleted by the cluster', () => podGone(name), { timeoutMs: 4 * 60_000, intervalMs: 1000 });
      assert.equal(await readJob(leaseName(name)), undefined);
    } finally {
      await keeper.dispose();
      await deleteClone(me, fx.namespace, name).catch(() => undefined);
    }
  });

  test('deleting a clone deletes its lease', async () => {
    const me = envFor(kc, 'delete');
    const { info } = await createClone(me, sleeper(), resolveOptions({ ttlMinutes: 60, jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }));
    assert.ok(await readJob(leaseName(info.ref.name)));
    await deleteClone(me, fx.namespace, info.ref.name);
    await waitFor('the lease to be gone', async () => (await readJob(leaseName(info.ref.name))) === undefined, { timeoutMs: 60_000, intervalMs: 250 });
    await waitFor('the clone pod to be gone', () => podGone(info.ref.name), { timeoutMs: 90_000, intervalMs: 500 });
  });

  test('when the pod cannot be created, the lease made for it is rolled back', async () => {
    const me = envFor(kc, 'clash');
    // A name clash with the source's own pod: the lease (another name) is created, the pod is refused.
    const taken = (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: 'app=sleeper' })).items.find((p) => !p.metadata?.labels?.['devlane.io/clone'])!.metadata!.name!;
    await assert.rejects(createClone(me, sleeper(), resolveOptions({ ...oneMinute, name: taken })), (e) => isDevlaneError(e) && e.reason === 'already-exists');
    await waitFor('no lease to be left', async () => (await readJob(leaseName(taken))) === undefined, { timeoutMs: 30_000, intervalMs: 250 });
    assert.equal((await batch.listNamespacedJob({ namespace: fx.namespace, labelSelector: `devlane.io/owner=${me.owner.label}` })).items.length, 0);
  });

  test('the reaper deletes the owner\'s leases that hold no clone, and nobody else\'s', async () => {
    const me = envFor(kc, 'orphan');
    const other = envFor(kc, 'orphan-other');
    const ghost = (env: CloneEnv, cloneName: string) =>
      createLease(env, { namespace: fx.namespace, cloneName, cloneLabels: { 'devlane.io/owner': env.owner.label, 'devlane.io/clone-of': 'sleeper' }, image: 'busybox', ttlSeconds: 3600 });
    const mine = await ghost(me, 'ghost-mine');
    const theirs = await ghost(other, 'ghost-theirs');
    assert.ok('job' in mine && 'job' in theirs);
    const { info } = await createClone(me, sleeper(), resolveOptions({ ttlMinutes: 60, jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }));
    const keeper = new CloneKeeper(me, { namespaces: () => [fx.namespace], orphanLeaseGraceMs: 0 });
    try {
      const r = await keeper.tick();
      assert.deepEqual(r.orphanLeases, [`${fx.namespace}/${leaseName('ghost-mine')}`]);
      assert.deepEqual(r.reaped, []);
      await waitFor('the orphan lease to be gone', async () => (await readJob(leaseName('ghost-mine'))) === undefined, { timeoutMs: 30_000, intervalMs: 250 });
      assert.ok(await readJob(leaseName('ghost-theirs')), "someone else's orphan lease stays");
      assert.ok(await readJob(leaseName(info.ref.name)), 'the lease of a live clone stays');
      assert.ok(await podLive(info.ref.name));
    } finally {
      await keeper.dispose();
      await deleteClone(me, fx.namespace, info.ref.name).catch(() => undefined);
      await batch.deleteNamespacedJob({ name: leaseName('ghost-theirs'), namespace: fx.namespace }).catch(() => undefined);
      await batch.deleteNamespacedJob({ name: leaseName('ghost-mine'), namespace: fx.namespace }).catch(() => undefined);
    }
  });

  test('without RBAC for jobs, the clone is made without a lease and says which permission is missing', async () => {
    const ns = fx.namespace;
    const limited = await limitedUser(kc, ns, 'nojobs', [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'create', 'delete', 'patch'] },
      { apiGroups: [''], resources: ['services', 'events'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list'] },
    ]);
    const narrow = envFor(limited, 'nojobs');
    const { info, pod, notes, noLease } = await createClone(narrow, sleeper(), resolveOptions({ ttlMinutes: 60, jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }));
    try {
      assert.equal(info.lease, undefined);
      assert.equal(pod.metadata?.ownerReferences, undefined);
      const note = notes.find((n) => n.startsWith('no lease'));
      assert.ok(note, `notes: ${notes.join(' | ')}`);
      assert.equal(noLease, note);
      assert.match(note, /not allowed to create jobs\.batch in namespace/);
      assert.match(note, /verb "create" on resource "jobs\.batch"/);
      assert.equal(await readJob(leaseName(info.ref.name)), undefined);
    } finally {
      await deleteClone(narrow, ns, info.ref.name);
    }
    await waitFor('the clone pod to be gone', () => podGone(info.ref.name), { timeoutMs: 90_000, intervalMs: 500 });
  });
});
