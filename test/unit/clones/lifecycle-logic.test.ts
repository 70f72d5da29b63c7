import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node';
import { classifyApiError } from '../../../extension/core/kube/apiErrors';
import { diagnosePod } from '../../../extension/core/clones/diagnose';
import { expiredClones, ttlMinutesOf } from '../../../extension/core/clones/keeper';
import { toInfo } from '../../../extension/core/clones/lifecycle';
import { cloneDescription } from '../../../extension/core/clones/present';
import { cloneAnnotations, cloneLabels } from '../../../extension/core/clones/labels';
import { ServerClock } from '../../../extension/core/clones/serverClock';
import { KubeConfig } from '@kubernetes/client-node';
import { supervisedCommand } from '../../../extension/core/clones/spec/supervisor';

function clone(name: string, owner: string, expiresAt: string | undefined, extra: Partial<V1Pod['metadata']> = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      labels: { [cloneLabels.clone]: 'true', [cloneLabels.owner]: owner },
      annotations: expiresAt ? { [cloneAnnotations.expiresAt]: expiresAt } : {},
      ...extra,
    },
  };
}

test('the reaper picks only the owner\'s clones whose expiry passed on the server clock', () => {
  const now = new Date('2026-11-22T03:00:00Z');
  const pods = [
    clone('mine-expired', 'me', '2026-11-22T02:59:59Z'),
    clone('mine-exactly-now', 'me', '2026-11-22T03:00:00Z'),
    clone('mine-live', 'me', '2026-11-22T03:00:01Z'),
    clone('theirs-expired', 'someone-else', '2020-01-01T00:00:00Z'),
    clone('mine-no-expiry', 'me', undefined),
    clone('mine-garbage-expiry', 'me', 'tomorrow'),
    clone('mine-deleting', 'me', '2020-01-01T00:00:00Z', { deletionTimestamp: new Date() }),
    { metadata: { name: 'not-a-clone', namespace: 'shop', labels: { [cloneLabels.owner]: 'me' }, annotations: { [cloneAnnotations.expiresAt]: '2020-01-01T00:00:00Z' } } },
  ];
  assert.deepEqual(expiredClones(pods, 'me', now).map((p) => p.metadata!.name), ['mine-expired', 'mine-exactly-now']);
  assert.deepEqual(expiredClones(pods, 'someone-else', now).map((p) => p.metadata!.name), ['theirs-expired']);
});

test('a clone\'s TTL comes from its options annotation', () => {
  const p = clone('a', 'me', undefined);
  p.metadata!.annotations![cloneAnnotations.options] = JSON.stringify({ ttlMinutes: 7 });
  assert.equal(ttlMinutesOf(p), 7);
  assert.equal(ttlMinutesOf(clone('b', 'me', undefined)), 120);
});

test('the server clock follows the Date header, not the local clock', async () => {
  let local = Date.parse('2026-11-22T05:00:00Z');
  const clock = new ServerClock(new KubeConfig(), 60_000, () => local);
  clock.observe({ date: 'Sun, 22 Nov 2026 03:00:00 GMT' }, local - 100, local + 100);
  local += 10_000;
  const now = await clock.now();
  assert.ok(Math.abs(now.getTime() - Date.parse('2026-11-22T03:00:10.500Z')) < 5, now.toISOString());
});

const running: V1Pod = {
  metadata: { name: 'c', namespace: 'shop' },
  status: {
    phase: 'Running',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
    containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }],
  },
};

test('diagnosis: running, waiting, unschedulable with the scheduler\'s reason, image pull, no shell', () => {
  assert.equal(diagnosePod(running, [], 'app', true).state, 'running');
  const pending: V1Pod = { metadata: running.metadata, status: { phase: 'Pending' } };
  assert.deepEqual(diagnosePod(pending, [], 'app', true), { state: 'waiting', detail: 'waiting for the scheduler' });

  const unsched: V1Pod = { metadata: running.metadata, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'condition msg' }] } };
  const events: CoreV1Event[] = [
    { metadata: {}, involvedObject: {}, reason: 'FailedScheduling', message: 'old', lastTimestamp: new Date('2026-11-22T01:00:00Z') },
    { metadata: {}, involvedObject: {}, reason: 'FailedScheduling', message: '0/2 nodes are available: 2 Insufficient cpu.', lastTimestamp: new Date('2026-11-22T02:00:00Z') },
  ];
  const d = diagnosePod(unsched, events, 'app', true);
  assert.equal(d.state, 'failed');
  assert.equal(d.state === 'failed' && d.error.reason, 'unschedulable');
  assert.match(d.state === 'failed' ? d.error.message : '', /0\/2 nodes are available: 2 Insufficient cpu\./);
  const noEvents = diagnosePod(unsched, [], 'app', true);
  assert.match(noEvents.state === 'failed' ? noEvents.error.message : '', /condition msg/);

  const pull: V1Pod = { metadata: running.metadata, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'devlane-capture', image: 'nope:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'not found' } } }] } };
  const p = diagnosePod(pull, [], 'app', true);
  assert.equal(p.state === 'failed' && p.error.reason, 'image-pull');
  assert.match(p.state === 'failed' ? p.error.message : '', /nope:1/);

  const noShell: V1Pod = { metadata: running.metadata, status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'app', image: 'distroless', imageID: '', ready: false, restartCount: 1, state: { waiting: { reason: 'RunContainerError', message: 'exec: "/bin/sh": stat /bin/sh: no such file or directory' } } }] } };
  const s = diagnosePod(noShell, [], 'app', true, { title: 'Clone with Original Command', command: 'devlane.clone.create' });
  assert.equal(s.state === 'failed' && s.error.reason, 'no-shell');
  assert.equal(s.state === 'failed' && s.error.actions[0]?.title, 'Clone with Original Command');
  const orig = diagnosePod(noShell, [], 'app', false);
  assert.equal(orig.state === 'failed' && orig.error.reason, 'internal');
  // A runtime that reports the failed exec of /bin/sh as the container's exit (126: cannot
  // execute, 127: not found), seen in its last state while it backs off.
  for (const exitCode of [126, 127]) {
    const crashed: V1Pod = { metadata: running.metadata, status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'app', image: 'distroless', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode, reason: 'Error' } } }] } };
    const c = diagnosePod(crashed, [], 'app', true, { title: 'Clone with Original Command', command: 'devlane.clone.create' });
    assert.equal(c.state === 'failed' && c.error.reason, 'no-shell');
    assert.match(c.state === 'failed' ? c.error.message : '', new RegExp(`exit code ${exitCode}`));
    // Without the supervisor, the app's own exit code means nothing about a shell: keep waiting.
    assert.equal(diagnosePod(crashed, [], 'app', false).state, 'waiting');
  }
  const appExit: V1Pod = { metadata: running.metadata, status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }] } };
  assert.equal(diagnosePod(appExit, [], 'app', true).state, 'waiting');

  const failed = diagnosePod({ metadata: running.metadata, status: { phase: 'Failed', reason: 'DeadlineExceeded' } }, [], 'app', true);
  assert.match(failed.state === 'failed' ? failed.error.message : '', /DeadlineExceeded/);
});

test('API errors: forbidden names the verb and resource, admission and clashes are told apart', () => {
  const rbac = new ApiException(403, 'Forbidden', JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "shop"', details: { kind: 'pods' } }), {});
  const e1 = classifyApiError(rbac, { verb: 'create', resource: 'pods', namespace: 'shop', name: 'x' });
  assert.equal(e1.reason, 'rbac-forbidden');
  assert.match(e1.message, /not allowed to create pods in namespace "shop".*verb "create" on resource "pods"/);
  const exec = new ApiException(403, 'Forbidden', JSON.stringify({ reason: 'Forbidden', details: { kind: 'pods' } }), {});
  assert.match(classifyApiError(exec, { verb: 'create', resource: 'pods/exec', namespace: 'shop' }).message, /resource "pods\/exec"/);
  const apps = new ApiException(403, 'Forbidden', JSON.stringify({ reason: 'Forbidden', details: { kind: 'deployments', group: 'apps' } }), {});
  assert.match(classifyApiError(apps, { verb: 'get', resource: 'deployments', group: 'apps', namespace: 'shop' }).message, /verb "get" on resource "deployments.apps"/);
  const psa = new ApiException(403, 'Forbidden', JSON.stringify({ reason: 'Forbidden', message: 'pods "x" is forbidden: violates PodSecurity', details: { name: 'x', kind: 'pods' } }), {});
  assert.match(classifyApiError(psa, { verb: 'create', resource: 'pods', namespace: 'shop', name: 'x' }).message, /admission policy.*violates PodSecurity/);
  const clash = classifyApiError(new ApiException(409, 'Conflict', '{"reason":"AlreadyExists"}', {}), { verb: 'create', resource: 'pods', namespace: 'shop', name: 'x' });
  assert.equal(clash.reason, 'already-exists');
  assert.match(clash.message, /pods "x" in namespace "shop" already exists/);
  assert.equal(classifyApiError(new ApiException(404, 'NotFound', '', {}), { verb: 'get', resource: 'pods' }).reason, 'not-found');
  assert.equal(classifyApiError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), { verb: 'get', resource: 'pods' }).reason, 'cluster-unreachable');
});

test('clone info: phase, reason, node, expiry, supervised and options read back from the pod', () => {
  const pod: V1Pod = {
    metadata: {
      name: 'orders-alice-1',
      namespace: 'shop',
      uid: 'u1',
      creationTimestamp: new Date('2026-11-22T01:00:00Z'),
      labels: { [cloneLabels.clone]: 'true', [cloneLabels.owner]: 'me', [cloneLabels.cloneOf]: 'orders' },
      annotations: { [cloneAnnotations.expiresAt]: '2026-11-22T03:00:00Z', [cloneAnnotations.cloneOf]: 'Deployment/orders', [cloneAnnotations.container]: 'app', [cloneAnnotations.options]: JSON.stringify({ ttlMinutes: 30 }) },
    },
    spec: { nodeName: 'n1', containers: [{ name: 'app', command: supervisedCommand(['java', '-jar', '/app/a.jar']) }] },
    status: { phase: 'Pending', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
  };
  const i = toInfo(pod);
  assert.deepEqual(i.ref, { kind: 'Clone', namespace: 'shop', name: 'orders-alice-1' });
  assert.equal(i.phase, 'Pending');
  assert.equal(i.reason, 'ContainerCreating');
  assert.equal(i.node, 'n1');
  assert.equal(i.expiresAt?.toISOString(), '2026-11-22T03:00:00.000Z');
  assert.equal(i.cloneOf, 'Deployment/orders');
  assert.equal(i.supervised, true);
  assert.equal(i.options?.ttlMinutes, 30);
  assert.equal(i.ready, false);
});

test('tree description: state with reason, node, age and expiry on the given clock', () => {
  const base = toInfo({
    metadata: { name: 'c', namespace: 'shop', creationTimestamp: new Date('2026-11-22T01:00:00Z'), annotations: { [cloneAnnotations.expiresAt]: '2026-11-22T03:05:00Z' } },
    spec: { nodeName: 'node-1', containers: [{ name: 'app' }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] },
  });
  const now = Date.parse('2026-11-22T02:00:00Z');
  assert.equal(cloneDescription(base, now), 'Running · node-1 · 1h · expires in 1h5m');
  assert.equal(cloneDescription({ ...base, phase: 'Pending', reason: 'Unschedulable', node: undefined }, now), 'Pending (Unschedulable) · unscheduled · 1h · expires in 1h5m');
  assert.equal(cloneDescription(base, Date.parse('2026-11-22T04:00:00Z')), 'Running · node-1 · 3h · expired');
});
