import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { network } from '../../../cluster/paths';
import type { StartTunnelParams } from '../../../dataplane/ipc/protocol';
import { execInPod, testCluster, waitForReadyPods, type TestCluster } from '../../support/cluster';
import { createBastion, type Bastion } from './support/bastion';
import { startDataPlane, type TestDataPlane } from './support/dataPlane';

// The topology: the laptop reaches the test cluster only through the bastion's sshd.
let cluster: TestCluster;
let b: Bastion;
let dp: TestDataPlane;
let info: { socksPort: number };

before(async () => {
  cluster = await testCluster();
  await waitForReadyPods(cluster.kc, 'shop', 'app=inventory', 1, 180_000);
  b = await createBastion({ cluster: network });
  await b.startSshd();
  const kh = path.join(b.dir, 'known_hosts');
  fs.writeFileSync(kh, `${b.knownHostsLine}\n`);
  dp = startDataPlane();
  const params: StartTunnelParams = {
    id: 'cluster',
    hops: [{ alias: 'bastion', hostName: b.bastionIp, port: 22, user: 'root', identityFiles: [b.userKey], identitiesOnly: true }],
    knownHostsFiles: [kh],
    socks: { port: 0 },
  };
  info = await dp.client.request('tunnel.start', params);
});

after(async () => {
  await dp?.close();
  await b?.close();
});

test('a Java client with the SOCKS properties reaches inventory.shop.svc.cluster.local (resolved on the far side)', async () => {
  const src = path.join(b.dir, 'Stock.java');
  fs.writeFileSync(
    src,
    `public class Stock { public static void main(String[] a) throws Exception {
      var c = (java.net.HttpURLConnection) new java.net.URL(a[0]).openConnection();
      System.out.print(c.getResponseCode() + " " + new String(c.getInputStream().readAllBytes()));
    } }`,
  );
  const out = await new Promise<string>((resolve, reject) =>
    execFile('java', ['-DsocksProxyHost=127.0.0.1', `-DsocksProxyPort=${info.socksPort}`, src, 'http://inventory.shop.svc.cluster.local:8080/healthz'], { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  assert.equal(out, '200 {"ok":true}');
});

test('a pod calls the bastion\'s forwarded port and reaches a local HTTP server', async () => {
  const local = http.createServer((_req, res) => res.end('hello from the laptop'));
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  try {
    const f = await dp.client.request('tunnel.addReverseForward', { id: 'cluster', bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort: (local.address() as AddressInfo).port });
    const [pod] = await waitForReadyPods(cluster.kc, 'shop', 'app=orders', 1, 120_000);
    const r = await execInPod(cluster.kc, 'shop', pod!.metadata!.name!, 'orders', ['curl', '-sS', '--max-time', '20', `http://${b.clusterIp}:${f.bindPort}/`], 60_000);
    assert.equal(r.stdout, 'hello from the laptop', `${r.status} ${r.message ?? ''} ${r.stderr}`);
  } finally {
    local.close();
  }
});
