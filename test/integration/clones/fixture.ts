import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1PodSpec } from '@kubernetes/client-node';
import type { CloneEnv } from '../../../extension/core/clones/lifecycle';
import { ServerClock } from '../../../extension/core/clones/serverClock';
import { ownerIdentity } from '../../../extension/core/clones/spec/identity';
import { silentLogger } from '../../../extension/core/log';
import { testCluster, testNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { ordersMainClass } from './sampleBuild';

/** The test cluster's kubeconfig. */
export async function clusterKc(): Promise<KubeConfig> {
  return (await testCluster()).kc;
}

/** A clone environment for a made-up developer (the owner label is what tells them apart). */
export function envFor(kc: KubeConfig, who: string): CloneEnv {
  return { kc, owner: ownerIdentity({ kubeUser: `it-${who}`, osUser: who, host: 'ci' }), clock: new ServerClock(kc), log: silentLogger };
}

export const ordersCommand = ['java', '-Xmx64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', '/app/classes', ordersMainClass];

function deployment(namespace: string, name: string, replicas: number, container: V1PodSpec): V1Deployment {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name, tier: 'backend' } }, spec: container } },
  };
}

export interface Fixture {
  readonly namespace: string;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  dispose(): Promise<void>;
}

/**
 * A namespace of this test file's own: `orders` (the sample Java service, 1 replica, with a
 * Service and a liveness/readiness probe) and `sleeper` (a shell that sleeps, for cheap clones).
 * dispose() deletes the namespace and waits until it is gone.
 */
export async function makeFixture(kc: KubeConfig, opts: { orders?: boolean } = {}): Promise<Fixture> {
  const ns = await testNamespace(kc, 'clones');
  const namespace = ns.name;
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const fixture: Fixture = { namespace, core, apps, dispose: () => ns.dispose() };
  try {
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment(namespace, 'sleeper', 1, { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 1 }),
    });
    if (opts.orders !== false) {
      await apps.createNamespacedDeployment({
        namespace,
        body: deployment(namespace, 'orders', 1, {
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'orders',
              image: 'devlane.local/shop-orders:dev',
              command: ordersCommand,
              env: [{ name: 'PORT', value: '8080' }, { name: 'INVENTORY_URL', value: 'http://inventory:8080' }],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
              resources: { requests: { cpu: '100m', memory: '128Mi' } },
            },
          ],
        }),
      });
      await core.createNamespacedService({ namespace, body: { metadata: { name: 'orders' }, spec: { selector: { app: 'orders' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } } });
    }
    for (const d of opts.orders !== false ? ['sleeper', 'orders'] : ['sleeper']) {
      await waitFor(`deployment ${namespace}/${d} to be ready`, async () => (await apps.readNamespacedDeployment({ name: d, namespace })).status?.readyReplicas === 1, { timeoutMs: 120_000, intervalMs: 500 });
    }
  } catch (e) {
    await fixture.dispose();
    throw e;
  }
  return fixture;
}
