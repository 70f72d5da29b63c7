import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { clusterKc, envFor } from '../clones/fixture';
import { testNamespace, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { createClone, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { Lanes } from '../../../extension/core/lanes/lanes';
import { IstioBackend, optOutAnnotation } from '../../../extension/core/lanes/istio/backend';
import { GatewayBackend } from '../../../extension/core/lanes/gateway/backend';
import { memberLabel } from '../../../extension/core/lanes/members';
import { isDevlaneError } from '../../../extension/core/errors';
import { silentLogger } from '../../../extension/core/log';
import type { BackendKind } from '../../../extension/core/lanes/backend';

/**
 * The Istio and Gateway API back-ends against the real API server with the real CRD schemas (the
 * routing itself, through istiod and Envoy, is the mesh tests'): lane routes written into the
 * user's VirtualService and taken out again so that its spec is exactly what it was, two
 * developers' lanes side by side, a lane name refused to someone else, opt-out and GitOps
 * refusals, HTTPRoutes owned by the lane's lease and collected at its expiry.
 */

const vsApi = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' } as const;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const routeApi = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;

describe('lanes: Istio and Gateway API back-ends on the real API server', () => {
  let kc: KubeConfig;
  let ns: TestNamespace;
  let namespace: string;
  let objects: CustomObjectsApi;
  let core: CoreV1Api;
  const alice = () => envFor(kc, 'alice');
  const bob = () => envFor(kc, 'bob');

  const lanesFor = (env: CloneEnv, backend: BackendKind, ttlMinutes = 30) =>
    new Lanes({
      kc,
      owner: env.owner,
      clock: env.clock,
      log: silentLogger,
      backends: { istio: new IstioBackend({ kc, log: silentLogger }), gateway: new GatewayBackend({ kc, log: silentLogger }) },
      backendFor: () => backend,
      ttlMinutes,
    });

  async function cloneOf(env: CloneEnv, workload: string): Promise<string> {
    const created = await createClone(env, { kind: 'Deployment', namespace, name: workload }, resolveOptions({ startCommand: 'original', ttlMinutes: 30 }));
    await waitFor('the clone to run', async () => (await core.readNamespacedPod({ namespace, name: created.info.ref.name })).status?.phase === 'Running', { timeoutMs: 90_000, intervalMs: 300 });
    return created.info.ref.name;
  }

  const readVs = async (name: string) => (await objects.getNamespacedCustomObject({ ...vsApi, namespace, name })) as { metadata: { annotations?: Record<string, string> }; spec: { http: { name?: string }[] } };
  const routeNames = async (name: string) => (await readVs(name)).spec.http.map((r) => r.name ?? '');

  before(async () => {
    kc = await clusterKc();
    ns = await testNamespace(kc, 'lanes');
    namespace = ns.name;
    objects = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    for (const name of ['pay', 'cart']) {
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: name } },
            template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], ports: [{ name: 'http', containerPort: 8080 }] }] } },
          },
        },
      });
      await core.createNamespacedService({ namespace, body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } } });
    }
  });
  after(() => ns?.dispose());

  test('Istio: two developers\' lanes in the user\'s VirtualService, and its spec exactly as it was after the last one left', async () => {
    const userSpec = {
      hosts: ['pay'],
      http: [
        { name: 'v2-testers', match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host: 'pay', port: { number: 8080 } } }], timeout: '3s' },
        { name: 'default', route: [{ destination: { host: 'pay.' + namespace + '.svc.cluster.local' } }] },
      ],
    };
    await objects.createNamespacedCustomObject({ ...vsApi, namespace, body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'pay', labels: { team: 'payments' } }, spec: userSpec } });
    const before = await readVs('pay');
    const a = lanesFor(alice(), 'istio');
    const b = lanesFor(bob(), 'istio');
    const aliceClone = await cloneOf(alice(), 'pay');
    const bobClone = await cloneOf(bob(), 'pay');

    const [member] = await a.addClone('alice', { namespace, name: aliceClone });
    assert.deepEqual({ service: member!.service, kind: member!.kind, memberService: member!.memberService }, { service: 'pay', kind: 'clone', memberService: 'dl-alice-pay' });
    assert.deepEqual(await routeNames('pay'), ['devlane-alice-v2-testers', 'v2-testers', 'devlane-alice-default', 'default']);
    const memberSvc = await core.readNamespacedService({ namespace, name: 'dl-alice-pay' });
    assert.deepEqual(memberSvc.spec?.selector, { [memberLabel('dl-alice-pay')]: 'true' });
    assert.equal(memberSvc.metadata?.ownerReferences?.[0]?.kind, 'Job', 'owned by the lane\'s lease');
    assert.equal((await core.readNamespacedPod({ namespace, name: aliceClone })).metadata?.labels?.[memberLabel('dl-alice-pay')], 'true');

    await b.addClone('bob', { namespace, name: bobClone });
    assert.deepEqual(await routeNames('pay'), ['devlane-alice-v2-testers', 'devlane-bob-v2-testers', 'v2-testers', 'devlane-alice-default', 'devlane-bob-default', 'default']);
    await assert.rejects(b.addClone('alice', { namespace, name: bobClone }), (e: unknown) => isDevlaneError(e) && e.reason === 'lane-owned' && e.message.includes('it-alice'));
    await assert.rejects(b.leave('alice', { namespace, name: 'pay' }), (e: unknown) => isDevlaneError(e) && e.reason === 'lane-owned');

    await a.leave('alice', { namespace, name: 'pay' });
    assert.deepEqual(await routeNames('pay'), ['devlane-bob-v2-testers', 'v2-testers', 'devlane-bob-default', 'default'], 'bob\'s lane is untouched by alice leaving');
    await waitFor('alice\'s member Service to go', () => core.readNamespacedService({ namespace, name: 'dl-alice-pay' }).then(() => false, () => true), { timeoutMs: 10_000 });
    assert.equal((await core.readNamespacedPod({ namespace, name: aliceClone })).metadata?.labels?.[memberLabel('dl-alice-pay')], undefined);

    await b.end('bob');
    await a.end('alice');
    const restored = await readVs('pay');
    assert.deepEqual(restored.spec, before.spec, 'the spec is exactly the user\'s again');
    assert.deepEqual(restored.metadata.annotations, before.metadata.annotations, 'Devlane\'s annotations are gone');
    assert.equal((await kc.makeApiClient(BatchV1Api).listNamespacedJob({ namespace, labelSelector: 'devlane.io/lane-lease=true' })).items.filter((j) => !j.metadata?.deletionTimestamp).length, 0, 'no lane record is left');
  });

  test('Istio: a change the user makes while a lane is on is kept when the lane ends; a host nobody routes gets Devlane\'s own VirtualService', async () => {
    const a = lanesFor(alice(), 'istio');
    const clone = await cloneOf(alice(), 'cart');
    await a.addClone('alice', { namespace, name: clone });
    assert.deepEqual(await routeNames('devlane-cart'), ['devlane-alice-default', 'default']);
    // The user makes their own VirtualService for the host meanwhile: Devlane's gives way to it.
    await objects.createNamespacedCustomObject({ ...vsApi, namespace, body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'cart' }, spec: { hosts: ['cart'], http: [{ name: 'main', route: [{ destination: { host: 'cart' } }] }] } } });
    await a.route({ namespace, name: 'cart' });
    assert.deepEqual(await routeNames('cart'), ['devlane-alice-main', 'main']);
    await assert.rejects(objects.getNamespacedCustomObject({ ...vsApi, namespace, name: 'devlane-cart' }), 'Devlane\'s own VirtualService is gone once the user has one');
    // ... and edits it while the lane is on.
    const vs = (await objects.getNamespacedCustomObject({ ...vsApi, namespace, name: 'cart' })) as { spec: { http: Record<string, unknown>[] } };
    vs.spec.http.push({ name: 'added-by-user', match: [{ uri: { prefix: '/new' } }], route: [{ destination: { host: 'cart' } }] });
    await objects.replaceNamespacedCustomObject({ ...vsApi, namespace, name: 'cart', body: vs });
    await a.end('alice');
    assert.deepEqual(await routeNames('cart'), ['main', 'added-by-user']);
    assert.equal((await readVs('cart')).metadata.annotations?.['devlane.io/original'], undefined);
  });

  test('Istio: an opted-out or GitOps-managed VirtualService is refused with what to do', async () => {
    const a = lanesFor(alice(), 'istio');
    const clone = await cloneOf(alice(), 'pay');
    await objects.patchNamespacedCustomObject({ ...vsApi, namespace, name: 'pay', body: { metadata: { annotations: { [optOutAnnotation]: 'true' } } } }, mergePatch);
    await assert.rejects(a.addClone('alice', { namespace, name: clone }), (e: unknown) => isDevlaneError(e) && e.reason === 'lane-opted-out' && e.message.includes(optOutAnnotation));
    await objects.patchNamespacedCustomObject({ ...vsApi, namespace, name: 'pay', body: { metadata: { annotations: { [optOutAnnotation]: null, 'argocd.argoproj.io/tracking-id': 'shop:networking.istio.io/VirtualService:' + namespace + '/pay' } } } }, mergePatch);
    await assert.rejects(a.addClone('alice', { namespace, name: clone }), (e: unknown) => isDevlaneError(e) && e.reason === 'gitops-managed' && e.message.includes('Argo CD'));
    assert.deepEqual(await routeNames('pay'), ['v2-testers', 'default'], 'nothing was written');
    await assert.rejects(core.readNamespacedService({ namespace, name: 'dl-alice-pay' }), 'the refused member was rolled back');
    assert.deepEqual(await a.list([namespace]), [], 'and its lane record with it');
  });

  test('Gateway API: one HTTPRoute per lane with the Service as parent, owned by the lease; a catch-all to the baseline; collected at the lane\'s expiry', async () => {
    const a = lanesFor(alice(), 'gateway', 0.1);
    const clone = await cloneOf(alice(), 'cart');
    await a.addClone('alice', { namespace, name: clone });
    const lane = (await objects.getNamespacedCustomObject({ ...routeApi, namespace, name: 'dl-alice-cart' })) as { metadata: { ownerReferences?: { kind: string }[] }; spec: { parentRefs: unknown[]; rules: { matches: { headers: { name: string; type: string }[] }[]; backendRefs: unknown[] }[] } };
    assert.deepEqual(lane.spec.parentRefs, [{ group: '', kind: 'Service', name: 'cart', port: 8080 }]);
    assert.deepEqual(lane.spec.rules[0]!.backendRefs, [{ group: '', kind: 'Service', name: 'dl-alice-cart', port: 8080, weight: 1 }]);
    assert.equal(lane.spec.rules[0]!.matches[0]!.headers[0]!.name, 'baggage');
    assert.equal(lane.metadata.ownerReferences?.[0]?.kind, 'Job');
    await objects.getNamespacedCustomObject({ ...routeApi, namespace, name: 'dl-base-cart' });
    // Nobody ends the lane: its lease expires (6 s) and the cluster collects what it owns.
    await waitFor('the lane\'s HTTPRoute and member Service to be collected at the expiry', async () => {
      const route = await objects.getNamespacedCustomObject({ ...routeApi, namespace, name: 'dl-alice-cart' }).then(() => true, () => false);
      const svc = await core.readNamespacedService({ namespace, name: 'dl-alice-cart' }).then(() => true, () => false);
      return !route && !svc;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    // The next change to the Service's routes (anyone's) takes out what only Devlane's catch-all still holds.
    await a.route({ namespace, name: 'cart' });
    await assert.rejects(objects.getNamespacedCustomObject({ ...routeApi, namespace, name: 'dl-base-cart' }));
  });
});
