import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { cloneLabels } from '../../../extension/core/clones/labels';
import { buildLease, deadlineSeconds, leaseFailed, leaseLabels, leaseName, leaseOf, leaseOwnerReference, leaseStart, orphanLeases } from '../../../extension/core/clones/lease';
import { toInfo } from '../../../extension/core/clones/lifecycle';
import { cloneName } from '../../../extension/core/clones/spec/identity';

test('the lease name is derived from the clone name and always a valid Job name', () => {
  assert.equal(leaseName('orders-alice-ab12c'), 'orders-alice-ab12c-lease');
  const a = cloneName('x'.repeat(80), 'alice-1234', 'aaaaa');
  const b = cloneName('x'.repeat(80), 'alice-1234', 'bbbbb');
  assert.equal(a.length, 63);
  for (const n of [leaseName(a), leaseName(b)]) {
    assert.ok(n.length <= 63, `${n} is ${n.length} long`);
    assert.match(n, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.ok(n.endsWith('-lease'));
  }
  assert.notEqual(leaseName(a), leaseName(b), 'clones that differ only in their cut-off suffix get distinct leases');
});

test('the lease Job runs no pod, fails at the TTL and is deleted at once', () => {
  const job = buildLease({ namespace: 'shop', cloneName: 'orders-alice-ab12c', cloneLabels: { [cloneLabels.clone]: 'true', [cloneLabels.owner]: 'alice-1', [cloneLabels.cloneOf]: 'orders', app: 'orders' }, image: 'busybox', ttlSeconds: 7200 });
  assert.equal(job.metadata?.name, 'orders-alice-ab12c-lease');
  assert.equal(job.metadata?.namespace, 'shop');
  assert.deepEqual(job.metadata?.labels, { [leaseLabels.lease]: 'true', [leaseLabels.clone]: 'orders-alice-ab12c', [cloneLabels.owner]: 'alice-1', [cloneLabels.cloneOf]: 'orders' });
  assert.equal(job.spec?.parallelism, 0);
  assert.equal(job.spec?.activeDeadlineSeconds, 7200);
  assert.equal(job.spec?.ttlSecondsAfterFinished, 0);
  assert.equal(job.spec?.suspend, undefined, 'a suspended Job has no startTime, so its deadline would never run');
  assert.equal(job.spec?.template.spec?.restartPolicy, 'Never');
  assert.equal(job.spec?.template.metadata?.labels?.[cloneLabels.clone], undefined, 'the template is no clone');
});

test('a clone pod hangs on its lease without being controlled or blocking its deletion', () => {
  const job: V1Job = { metadata: { name: 'c-lease', uid: 'job-uid' } };
  const ref = leaseOwnerReference(job);
  assert.deepEqual(ref, { apiVersion: 'batch/v1', kind: 'Job', name: 'c-lease', uid: 'job-uid', controller: false, blockOwnerDeletion: false });
  const pod: V1Pod = { metadata: { name: 'c', namespace: 'shop', ownerReferences: [ref], labels: { [cloneLabels.clone]: 'true' } } };
  assert.deepEqual(leaseOf(pod), { name: 'c-lease', uid: 'job-uid' });
  assert.equal(toInfo(pod).lease, 'c-lease');
  // Another Job owning the pod is not its lease.
  assert.equal(leaseOf({ metadata: { name: 'c', ownerReferences: [{ ...ref, name: 'other' }] } }), undefined);
  assert.equal(toInfo({ metadata: { name: 'c' } }).lease, undefined);
});

test('the renewed deadline counts from the Job start, rounded up', () => {
  const start = new Date('2026-11-22T06:00:00Z');
  assert.equal(deadlineSeconds(start, new Date('2026-11-22T08:00:00Z')), 7200);
  assert.equal(deadlineSeconds(start, new Date('2026-11-22T06:00:10.200Z')), 11);
  assert.equal(deadlineSeconds(start, new Date('2026-11-22T05:00:00Z')), 1, 'never 0 or negative');
  assert.equal(leaseStart({ metadata: { creationTimestamp: new Date('2026-11-22T05:59:59Z') }, status: { startTime: start } })?.toISOString(), start.toISOString());
  assert.equal(leaseStart({ metadata: { creationTimestamp: new Date('2026-11-22T05:59:59Z') } })?.toISOString(), '2026-11-22T05:59:59.000Z');
  assert.equal(leaseFailed({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] } }), true);
  assert.equal(leaseFailed({ status: { conditions: [{ type: 'Suspended', status: 'True' }] } }), false);
});

test('orphan leases: only the owner\'s, holding no live clone, and old enough', () => {
  const now = new Date('2026-11-22T06:10:00Z');
  const lease = (name: string, uid: string, owner: string, created: string, extra: Partial<V1Job['metadata']> = {}): V1Job => ({
    metadata: { name, uid, namespace: 'shop', creationTimestamp: new Date(created), labels: { [leaseLabels.lease]: 'true', [cloneLabels.owner]: owner }, ...extra },
  });
  const pod = (name: string, leaseUid: string, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
    metadata: { name, namespace: 'shop', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: `${name}-lease`, uid: leaseUid }], ...extra },
  });
  const jobs = [
    lease('held-lease', 'u1', 'me', '2026-11-22T06:00:00Z'),
    lease('orphan-lease', 'u2', 'me', '2026-11-22T06:00:00Z'),
    lease('young-lease', 'u3', 'me', '2026-11-22T06:09:30Z'),
    lease('theirs-lease', 'u4', 'them', '2026-11-22T06:00:00Z'),
    lease('going-lease', 'u5', 'me', '2026-11-22T06:00:00Z', { deletionTimestamp: new Date('2026-11-22T06:09:00Z') }),
    lease('dying-lease', 'u6', 'me', '2026-11-22T06:00:00Z'),
    { metadata: { name: 'plain-job', uid: 'u7', namespace: 'shop', creationTimestamp: new Date('2026-11-22T06:00:00Z'), labels: { [cloneLabels.owner]: 'me' } } },
  ];
  const pods = [pod('held', 'u1'), pod('dying', 'u6', { deletionTimestamp: new Date('2026-11-22T06:09:00Z') })];
  assert.deepEqual(orphanLeases(jobs, pods, 'me', now).map((j) => j.metadata?.name), ['orphan-lease', 'dying-lease']);
});
