import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { testCluster, testNamespace, waitForPodReady } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { containerChoices, contextChoices, launchConfigurationFor, namespaceChoices, needsContextPick, workloadChoices } from '../../../extension/debug/targetPicks';
import { parseCloneSource } from '../../../extension/debug/launch';

/** What the debug configuration provider asks when a configuration lacks its target, and in which order. */

test('context: asked only when the configuration and the settings choose none and there are several; current first', () => {
  assert.equal(needsContextPick(['a', 'b'], undefined, undefined), true);
  assert.equal(needsContextPick(['a', 'b'], 'a', undefined), false);
  assert.equal(needsContextPick(['a', 'b'], undefined, 'b'), false);
  assert.equal(needsContextPick(['a'], undefined, undefined), false);
  assert.deepEqual(contextChoices(['prod', 'dev', 'kind'], 'kind'), ['kind', 'dev', 'prod']);
  assert.deepEqual(contextChoices(['b', 'a'], 'gone'), ['a', 'b']);
});

test('namespaces: the context\'s first, kube-* last, the rest by name', () => {
  assert.deepEqual(namespaceChoices(['kube-system', 'shop', 'default', 'billing', 'kube-public'], 'shop'), ['shop', 'billing', 'default', 'kube-public', 'kube-system']);
  assert.deepEqual(namespaceChoices(['b', 'a'], 'missing'), ['a', 'b']);
});

const spec = (...containers: V1PodSpec['containers']): V1PodSpec => ({ containers });

test('containers: nothing to ask for one container or a configured one; otherwise the likeliest JVM first', () => {
  assert.deepEqual(containerChoices(spec({ name: 'app', image: 'x' })), []);
  const two = spec({ name: 'proxy', image: 'envoy' }, { name: 'app', image: 'eclipse-temurin:21' }, { name: 'metrics', image: 'busybox' });
  assert.deepEqual(containerChoices(two), ['app', 'proxy', 'metrics']);
  assert.deepEqual(containerChoices(two, 'metrics'), []);
  assert.deepEqual(containerChoices(two, 'nope'), ['app', 'proxy', 'metrics']);
  const jdwp = spec({ name: 'a', image: 'temurin' }, { name: 'b', image: 'x', env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-agentlib:jdwp=transport=dt_socket,server=y,address=5005' }] }, { name: 'c', image: 'x', ports: [{ name: 'jdwp', containerPort: 5005 }] });
  assert.deepEqual(containerChoices(jdwp), ['c', 'b', 'a']);
});

test('workloads: Deployments, StatefulSets, unmanaged ReplicaSets, then unowned running pods; clones and pods being deleted left out', () => {
  const tpl = { spec: spec({ name: 'app', image: 'img' }) };
  const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: '1', controller: true }];
  const pod = (name: string, extra: Partial<V1Pod['metadata']> = {}, phase = 'Running'): V1Pod => ({ metadata: { name, ...extra }, spec: spec({ name: 'app', image: 'img' }), status: { phase } });
  const choices = workloadChoices('ns', {
    deployments: [{ metadata: { name: 'web' }, spec: { replicas: 2, selector: {}, template: tpl }, status: { readyReplicas: 1 } }, { metadata: { name: 'api' }, spec: { selector: {}, template: tpl } }],
    statefulSets: [{ metadata: { name: 'db' }, spec: { selector: {}, template: tpl, serviceName: 'db' } }],
    replicaSets: [{ metadata: { name: 'web-123', ownerReferences: owner }, spec: { selector: {}, template: tpl } }, { metadata: { name: 'bare-rs' }, spec: { selector: {}, template: tpl } }],
    pods: [pod('web-123-x', { ownerReferences: [{ ...owner[0]!, kind: 'ReplicaSet' }] }), pod('debug-me'), pod('my-clone', { labels: { 'devlane.io/clone': 'true' } }), pod('leaving', { deletionTimestamp: new Date() }), pod('done', {}, 'Succeeded')],
  });
  assert.deepEqual(
    choices.map((c) => `${c.kind}/${c.name}`),
    ['Deployment/api', 'Deployment/web', 'StatefulSet/db', 'ReplicaSet/bare-rs', 'Pod/debug-me'],
  );
  assert.match(choices[1]!.detail, /^1\/2 ready · img$/);
  assert.deepEqual(choices[0]!.containers, ['app']);
  // What the pick yields is what a launch configuration accepts and what launch.json keeps.
  const saved = launchConfigurationFor({ ...choices[2]!, container: 'app', context: 'kind' }, 'mvn: package');
  assert.deepEqual(saved, { type: 'devlane', request: 'launch', name: 'Devlane: Debug db in my clone', clone: { namespace: 'ns', kind: 'StatefulSet', name: 'db' }, container: 'app', context: 'kind', preLaunchTask: 'mvn: package' });
  assert.deepEqual(parseCloneSource(saved.clone), { namespace: 'ns', kind: 'StatefulSet', name: 'db' });
});

test('workloads listed from the cluster: a Deployment is offered, not its ReplicaSet or pods; a bare pod is', async (t) => {
  const { kc } = await testCluster();
  const ns = await testNamespace(kc, 'dbgpick');
  t.after(() => ns.dispose());
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const container = { name: 'sh', image: 'busybox', command: ['sleep', '3600'] };
  await apps.createNamespacedDeployment({ namespace: ns.name, body: { metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container, { ...container, name: 'app', image: 'eclipse-temurin:17' }] } } } } });
  await core.createNamespacedPod({ namespace: ns.name, body: { metadata: { name: 'scratch' }, spec: { containers: [container] } } });
  await waitForPodReady(kc, ns.name, 'scratch');
  // The Deployment's ReplicaSet and pod exist before the choices are read, so leaving them out is tested.
  await waitFor('the Deployment\'s ReplicaSet and pod', async () => {
    const [rs, pods] = await Promise.all([apps.listNamespacedReplicaSet({ namespace: ns.name }), core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' })]);
    return rs.items.length > 0 && pods.items.length > 0;
  }, { timeoutMs: 60_000, intervalMs: 250 });
  const [deployments, statefulSets, replicaSets, pods] = await Promise.all([
    apps.listNamespacedDeployment({ namespace: ns.name }),
    apps.listNamespacedStatefulSet({ namespace: ns.name }),
    apps.listNamespacedReplicaSet({ namespace: ns.name }),
    core.listNamespacedPod({ namespace: ns.name }),
  ]);
  const choices = workloadChoices(ns.name, { deployments: deployments.items, statefulSets: statefulSets.items, replicaSets: replicaSets.items, pods: pods.items });
  assert.deepEqual(choices.map((c) => `${c.kind}/${c.name}`), ['Deployment/web', 'Pod/scratch']);
  assert.deepEqual(containerChoices(choices[0]!.spec), ['app', 'sh']);
});
