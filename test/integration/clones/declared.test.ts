import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { readSavedClones } from '../../../extension/core/clones/config';
import { createDeclaredClones, firstFailure, summarizeDeclared, type DeclaredOutcome } from '../../../extension/core/clones/declared';
import { cloneLabels } from '../../../extension/core/clones/labels';
import { deleteClone, listClones, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, type Fixture } from './fixture';

let kc: KubeConfig;
let fx: Fixture;
let me: CloneEnv;

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc, { orders: false });
  me = envFor(kc, 'dave');
  // A second cheap workload, declared with requests no node can meet.
  await fx.apps.createNamespacedDeployment({
    namespace: fx.namespace,
    body: {
      metadata: { name: 'idler' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'idler' } }, template: { metadata: { labels: { app: 'idler' } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] } } },
    },
  });
});

after(async () => {
  await fx?.dispose();
});

const byName = (outcomes: readonly DeclaredOutcome[], name: string) => outcomes.find((o) => o.key.name === name)!;

/** Pods in the namespace that are clones (anyone's), not being deleted. */
async function liveClonePods(): Promise<string[]> {
  const pods = await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `${cloneLabels.clone}=true` });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
}

test('every clone declared in devlane.yaml is created with its saved options or reused; failures are rolled back and reported', async () => {
  const ns = fx.namespace;
  const entries = readSavedClones(`version: 1
clones:
  - {namespace: ${ns}, kind: Deployment, name: sleeper, labels: {lane: dave}, env: {DECLARED: "yes"}, jvm: {jdwp: {enabled: false}}}
  - {namespace: ${ns}, kind: Deployment, name: nope}
  - {namespace: ${ns}, kind: Deployment, name: idler, resources: {requests: {cpu: "500"}}, jvm: {jdwp: {enabled: false}}}
`);
  const messages: string[] = [];
  const first = await createDeclaredClones(me, entries, { onProgress: (m, done, total) => messages.push(`${done}/${total} ${m}`) });
  try {
    assert.deepEqual(first.map((o) => `${o.key.name}:${o.state}`), ['sleeper:created', 'nope:failed', 'idler:failed']);
    const sleeper = byName(first, 'sleeper');
    assert.ok(sleeper.state === 'created' && sleeper.clone.ready);
    const pod = await fx.core.readNamespacedPod({ namespace: ns, name: sleeper.clone.ref.name });
    assert.equal(pod.metadata!.labels!.lane, 'dave', 'saved labels');
    assert.ok(pod.spec!.containers[0]!.env!.some((e) => e.name === 'DECLARED' && e.value === 'yes'), 'saved env');
    const nope = byName(first, 'nope');
    assert.ok(nope.state === 'failed' && nope.error.reason === 'not-found');
    const idler = byName(first, 'idler');
    assert.ok(idler.state === 'failed' && idler.error.reason === 'unschedulable' && /Insufficient cpu/.test(idler.error.message));
    // The unschedulable one was rolled back: only the sleeper clone is left.
    await waitFor('the rolled-back idler clone to be gone', async () => (await liveClonePods()).join() === sleeper.clone.ref.name || undefined, { timeoutMs: 60_000, intervalMs: 250 });
    assert.ok(messages.some((m) => m.startsWith('1/3') && m.includes(`${sleeper.clone.ref.name} is running`)), messages.join('\n'));
    const summary = summarizeDeclared(first);
    assert.equal(summary, `Clones from devlane.yaml: created ${sleeper.clone.ref.name}; failed ${ns}/nope, ${ns}/idler.`);
    assert.equal(firstFailure(first)?.reason, 'not-found');

    // Again: the running clone is reused, not duplicated.
    const second = await createDeclaredClones(me, entries.slice(0, 1));
    const again = second[0]!;
    assert.ok(again.state === 'reused' && again.clone.uid === sleeper.clone.uid);
    assert.equal(summarizeDeclared(second), `Clones from devlane.yaml: reused ${sleeper.clone.ref.name}.`);
    // Someone else's clone of the same workload is not "mine": they get their own.
    const erin = envFor(kc, 'erin');
    const theirs = await createDeclaredClones(erin, entries.slice(0, 1));
    assert.ok(theirs[0]!.state === 'created' && theirs[0]!.clone.uid !== sleeper.clone.uid);
    await deleteClone(erin, ns, theirs[0]!.clone.ref.name);
  } finally {
    const made = byName(first, 'sleeper');
    if (made.state === 'created') await deleteClone(me, ns, made.clone.ref.name);
  }
});

test('cancelling rolls back the clone in progress and leaves the rest undone', async () => {
  const ns = fx.namespace;
  const entries = readSavedClones(`version: 1
clones:
  - {namespace: ${ns}, kind: Deployment, name: idler, jvm: {jdwp: {enabled: false}}}
  - {namespace: ${ns}, kind: Deployment, name: sleeper, jvm: {jdwp: {enabled: false}}}
`);
  await waitFor('no clones of dave left from the first test', async () => (await listClones(me, [ns])).length === 0 || undefined, { timeoutMs: 60_000, intervalMs: 250 });
  const ac = new AbortController();
  const outcomes = await createDeclaredClones(me, entries, {
    signal: ac.signal,
    // Cancel once the first clone's pod exists: what was created must be deleted again.
    onProgress: (m) => {
      if (m.startsWith(`Deployment ${ns}/idler: creating pod`)) ac.abort();
    },
  });
  assert.deepEqual(outcomes.map((o) => `${o.key.name}:${o.state}`), ['idler:skipped', 'sleeper:skipped']);
  assert.equal(summarizeDeclared(outcomes), `Clones from devlane.yaml: not done (cancelled) ${ns}/idler, ${ns}/sleeper.`);
  await waitFor('the cancelled clone to be gone', async () => (await listClones(me, [ns])).length === 0 || undefined, { timeoutMs: 60_000, intervalMs: 250 });
});
