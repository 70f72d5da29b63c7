// Reaching pods like a kubelet lets you (port-forward to HTTP and to a JVM's JDWP) and pods
// reaching each other through Services by DNS name (the sample shop: orders → inventory).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { network } from '../../../cluster/paths';
import { deploySamples } from '../../../cluster/samples/deploy';
import { waitFor } from '../../support/wait';
import { execInPod, forwardToPod, testCluster, testNamespace, waitForPodReady, waitForReadyPods, type TestNamespace } from '../../support/cluster';

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 20_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/** Connects, sends the JDWP handshake and reads the 14-byte reply. */
function jdwpHandshake(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no JDWP handshake reply (got ${JSON.stringify(got.toString('latin1'))})`));
    }, 20_000);
    s.on('connect', () => s.write('JDWP-Handshake'));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 14) {
        clearTimeout(timer);
        s.destroy();
        resolve(got.subarray(0, 14).toString('latin1'));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** A Ready pod of the sample Deployment itself (others' tests may add pods with the same labels to shop). */
async function samplePod(kc: KubeConfig, app: string): Promise<V1Pod> {
  const ready = await waitForReadyPods(kc, 'shop', `app=${app}`, 2);
  const sets = await kc.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace: 'shop' });
  const ours = new Set(sets.items.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === app)).map((rs) => rs.metadata?.name));
  const pod = ready.find((p) => p.metadata?.ownerReferences?.some((o) => o.kind === 'ReplicaSet' && ours.has(o.name)));
  assert.ok(pod, `a ready pod of Deployment shop/${app}`);
  return pod;
}

describe('test cluster: port-forward and Service networking', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns: TestNamespace;

  before(async () => {
    ({ kc } = await testCluster());
    core = kc.makeApiClient(CoreV1Api);
    ns = await testNamespace(kc, 'cluster-net');
  });
  after(async () => {
    await ns?.dispose();
  });

  it('port-forwards to an HTTP server listening inside the pod', async () => {
    const server = "require('http').createServer((q, s) => s.end('hello from ' + process.env.HOSTNAME + ' ' + q.url)).listen(8080, '127.0.0.1')";
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: 'node:20', command: ['node', '-e', server], ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
        },
      },
    });
    await waitForPodReady(kc, ns.name, 'web');
    const fwd = await forwardToPod(kc, ns.name, 'web', 8080);
    try {
      const r = await httpGet(fwd.port, '/ping');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'hello from web /ping');
      // A second connection gets its own stream.
      assert.equal((await httpGet(fwd.port, '/again')).body, 'hello from web /again');
    } finally {
      await fwd.close();
    }
  });

  it("port-forwards to a JVM's JDWP port (the handshake comes back)", async () => {
    const { buildSampleImages } = await import('../../../cluster/samples/deploy');
    await buildSampleImages();
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'jvm' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'main',
              image: 'devlane.local/shop-inventory:dev',
              env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5005' }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    await waitForPodReady(kc, ns.name, 'jvm');
    const fwd = await forwardToPod(kc, ns.name, 'jvm', 5005);
    try {
      assert.equal(await jdwpHandshake(fwd.port), 'JDWP-Handshake');
    } finally {
      await fwd.close();
    }
  });

  it("keeps the gateway's MAC address while pods come and go (pods cache it)", async () => {
    const gatewayMac = () => (JSON.parse(execFileSync('ip', ['-j', '-n', network.clusterNetns, 'link', 'show', network.bridge], { encoding: 'utf8' })) as { address: string }[])[0]?.address;
    const before = gatewayMac();
    await core.createNamespacedPod({ namespace: ns.name, body: { metadata: { name: 'churn' }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] } } });
    const p = await waitForPodReady(kc, ns.name, 'churn');
    assert.equal(gatewayMac(), before);
    await core.deleteNamespacedPod({ name: 'churn', namespace: ns.name, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0 } });
    const netns = `/run/netns/dlp-${(p.metadata?.uid ?? '').replace(/-/g, '').slice(0, 12)}`;
    await waitFor('the pod network to be removed', () => !fs.existsSync(netns), { timeoutMs: 30_000 });
    assert.equal(gatewayMac(), before);
  });

  it('reaches a Service by short, namespaced and full DNS name from another pod', async () => {
    await deploySamples(kc);
    const orders = await samplePod(kc, 'orders');
    const inventoryPods = (await waitForReadyPods(kc, 'shop', 'app=inventory', 2)).map((p) => p.metadata?.name);
    const name = orders.metadata?.name ?? '';
    for (const host of ['inventory', 'inventory.shop', 'inventory.shop.svc.cluster.local']) {
      const r = await execInPod(kc, 'shop', name, 'orders', ['curl', '-sS', '--max-time', '10', `http://${host}:8080/stock?item=pear`]);
      assert.equal(r.status, 'Success', `curl ${host}: ${r.stderr}`);
      const body = JSON.parse(r.stdout) as { item: string; count: number; pod: string };
      assert.equal(body.item, 'pear');
      assert.equal(body.count, 3);
      assert.ok(inventoryPods.includes(body.pod), `answered by an inventory pod, got ${body.pod}`);
    }
  });

  it('orders answers through inventory (Java to Java, by cluster name)', async () => {
    await deploySamples(kc);
    const orders = await samplePod(kc, 'orders');
    const inventoryPods = (await waitForReadyPods(kc, 'shop', 'app=inventory', 2)).map((p) => p.metadata?.name);
    const fwd = await forwardToPod(kc, 'shop', orders.metadata?.name ?? '', 8080);
    try {
      const r = await httpGet(fwd.port, '/order?item=apple');
      assert.equal(r.status, 200, r.body);
      const body = JSON.parse(r.body) as { accepted: boolean; pod: string; inventory: { pod: string; count: number } };
      assert.equal(body.accepted, true);
      assert.equal(body.pod, orders.metadata?.name);
      assert.ok(inventoryPods.includes(body.inventory.pod), `inventory pod named in the answer, got ${body.inventory.pod}`);
    } finally {
      await fwd.close();
    }
  });
});
