import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { network } from '../../../cluster/paths';
import type { ForwardInfo, StartTunnelParams } from '../../../dataplane/ipc/protocol';
import { consoleLogger } from '../../../extension/core/log';
import { SessionRegistry } from '../../../extension/core/sessions/registry';
import { inboundFor } from '../../../extension/core/tunnels/registry/inbound';
import { RegistrationSession } from '../../../extension/core/tunnels/registry/registrationSession';
import type { RegistryKind } from '../../../extension/core/tunnels/registry/types';
import { testCluster, testNamespace, type TestCluster, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { createBastion, type Bastion } from './support/bastion';
import { startDataPlane, type TestDataPlane } from './support/dataPlane';
import { consulLookup, curlFromPod, deployRegistries, eurekaLookup, nacosLookup, registryPeers, type FoundInstance } from './support/registries';

// The topology: Consul, Eureka and Nacos run as pods behind Services; the laptop reaches them, and
// the cluster reaches the laptop, only through the bastion's sshd.
const log = consoleLogger('warn', 'registry-test');
let cluster: TestCluster;
let ns: TestNamespace | undefined;
let b: Bastion | undefined;
let dp: TestDataPlane | undefined;
let socksPort: number;
let clientPod: string;
let local: http.Server;
let localPort: number;
const sessions = new SessionRegistry(log, 20_000);

before(async () => {
  const peers = registryPeers();
  cluster = await testCluster();
  ns = await testNamespace(cluster.kc, 'reg');
  local = http.createServer((_req, res) => res.end('hello from the laptop'));
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  localPort = (local.address() as AddressInfo).port;
  b = await createBastion({ cluster: network });
  await b.startSshd();
  const kh = path.join(b.dir, 'known_hosts');
  fs.writeFileSync(kh, `${b.knownHostsLine}\n`);
  dp = startDataPlane();
  const params: StartTunnelParams = {
    id: 'reg',
    hops: [{ alias: 'bastion', hostName: b.bastionIp, port: 22, user: 'root', identityFiles: [b.userKey], identitiesOnly: true }],
    knownHostsFiles: [kh],
    socks: { port: 0 },
  };
  socksPort = (await dp.client.request('tunnel.start', params)).socksPort;
  ({ clientPod } = await deployRegistries(cluster.kc, ns.name, peers));
});

after(async () => {
  await sessions.endAll();
  await dp?.close();
  await b?.close();
  local?.close();
  await ns?.dispose();
});

const registryUrls: Record<RegistryKind, (ns: string) => string> = {
  consul: (n) => `http://consul.${n}.svc.cluster.local:8500`,
  eureka: (n) => `http://eureka.${n}.svc.cluster.local:8761/eureka`,
  nacos: (n) => `http://nacos.${n}.svc.cluster.local:8848/nacos`,
};
const registryUrl = (kind: RegistryKind) => registryUrls[kind](ns!.name);
const lookups: Record<RegistryKind, typeof consulLookup> = { consul: consulLookup, eureka: eurekaLookup, nacos: nacosLookup };
const lookup = (kind: RegistryKind, service: string): Promise<FoundInstance[]> => lookups[kind](cluster.kc, ns!.name, clientPod, service);

/** A remote forward on all the bastion's addresses to the local server, and the registration of it (through the SOCKS proxy). */
async function registerLocal(kind: RegistryKind, service: string, fast: boolean): Promise<{ session: RegistrationSession; forward: ForwardInfo }> {
  const forward = await dp!.client.request('tunnel.addReverseForward', { id: 'reg', bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort });
  const session = await RegistrationSession.start(
    {
      registry: { kind, url: registryUrl(kind) },
      instance: { serviceName: service, inbound: inboundFor('ssh', forward, b!.clusterIp), metadata: { owner: 'registry-test' } },
      route: { kind: 'socks', port: socksPort },
      // Short leases so the heartbeat path runs within the test: Consul renews at a third of the TTL.
      ...(fast ? { consul: { ttlSeconds: 3 }, eureka: { renewIntervalSeconds: 1 }, nacos: { beatIntervalSeconds: 1 } } : {}),
      onEnded: () => dp!.client.request('tunnel.removeReverseForward', { id: 'reg', bindAddress: forward.bindAddress, bindPort: forward.bindPort }).then(() => undefined),
    },
    log,
  );
  sessions.add(session);
  return { session, forward };
}

for (const kind of ['consul', 'eureka', 'nacos'] as const) {
  test(`${kind}: a pod finds the local service in ${kind} and reaches it through the bastion; stopping deregisters it`, async () => {
    const service = `laptop-${kind}`;
    const { session, forward } = await registerLocal(kind, service, true);
    assert.equal(session.status.state, 'running');

    const [found, ...others] = await waitFor(`${service} in ${kind}`, async () => {
      const l = await lookup(kind, service);
      return l.length ? l : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(others.length, 0);
    assert.deepEqual({ address: found!.address, port: found!.port }, { address: b!.clusterIp, port: forward.bindPort });
    // Nacos makes its own instance ids (ip#port#cluster#service).
    if (kind !== 'nacos') assert.equal(found!.id, session.instanceId);

    // The other service calls what the registry told it.
    assert.equal(await curlFromPod(cluster.kc, ns!.name, clientPod, [`http://${found!.address}:${found!.port}/`]), 'hello from the laptop');

    // Heartbeats reach the registry: past Consul's 3 s TTL the check still passes; Eureka records the
    // renewals; Nacos still lists the instance as healthy.
    await waitFor(`${kind} heartbeats`, () => session.renewals >= 4 || undefined, { timeoutMs: 60_000, intervalMs: 200 });
    assert.equal(session.status.state, 'running', session.lastError?.message);
    const renewed = await lookup(kind, service);
    assert.equal(renewed.length, 1, `${service} dropped out of ${kind} despite heartbeats`);
    if (kind === 'eureka') {
      const e = (await eurekaLookup(cluster.kc, ns!.name, clientPod, service))[0]!;
      assert.equal(e.status, 'UP');
      assert.ok(e.lastRenewal > e.registered, `Eureka saw no renewal (registered ${e.registered}, last renewal ${e.lastRenewal})`);
    }

    await sessions.end(session.id);
    assert.equal(session.status.state, 'stopped');
    assert.deepEqual(await lookup(kind, service), []);
    // The forward made for the registration went with it.
    assert.equal(await curlFromPod(cluster.kc, ns!.name, clientPod, [`http://${found!.address}:${found!.port}/`]), undefined);
  });
}

for (const kind of ['consul', 'eureka', 'nacos'] as const) {
  test(`${kind}: an instance the registry lost is registered again by the next heartbeat`, async () => {
    const service = `laptop-again-${kind}`;
    const { session } = await registerLocal(kind, service, true);
    await waitFor(`${service} in ${kind}`, async () => ((await lookup(kind, service)).length ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    // Someone else (an operator, a registry restart) removes it behind Devlane's back.
    const { address, port } = session.spec.instance.inbound;
    const removal = {
      consul: ['-X', 'PUT', `http://consul:8500/v1/agent/service/deregister/${session.instanceId}`],
      eureka: ['-X', 'DELETE', `http://eureka:8761/eureka/apps/${service.toUpperCase()}/${session.instanceId}`],
      nacos: ['-X', 'DELETE', `http://nacos:8848/nacos/v1/ns/instance?serviceName=${service}&ip=${address}&port=${port}&ephemeral=true`],
    }[kind];
    assert.notEqual(await curlFromPod(cluster.kc, ns!.name, clientPod, removal), undefined);
    const back = await waitFor(`${service} registered again`, async () => {
      const l = await lookup(kind, service);
      return l.length ? l : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.deepEqual({ address: back[0]!.address, port: back[0]!.port }, { address, port });
    await sessions.end(session.id);
    assert.deepEqual(await lookup(kind, service), []);
  });
}

test('a registry the tunnel cannot reach is refused with a clear error and leaves nothing behind', async () => {
  const forward = await dp!.client.request('tunnel.addReverseForward', { id: 'reg', bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort });
  let ended = 0;
  await assert.rejects(
    RegistrationSession.start(
      {
        registry: { kind: 'consul', url: `http://no-such-registry.${ns!.name}.svc.cluster.local:8500` },
        instance: { serviceName: 'laptop-nowhere', inbound: inboundFor('ssh', forward, b!.clusterIp), metadata: {} },
        route: { kind: 'socks', port: socksPort },
        onEnded: async () => {
          ended++;
          await dp!.client.request('tunnel.removeReverseForward', { id: 'reg', bindAddress: forward.bindAddress, bindPort: forward.bindPort });
        },
      },
      log,
    ),
    (e: unknown) => (e as { reason?: string }).reason === 'cluster-unreachable',
  );
  assert.equal(ended, 1);
  assert.equal(sessions.list('registration').length, 0);
});

test('consul through the in-cluster agent: the agent pod\'s listener is registered, a pod reaches the laptop by it', async () => {
  // The agent transport's own script, bundled as the extension ships it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-reg-agent-'));
  const agentDp = startDataPlane();
  try {
    const script = path.join(dir, 'tunnel-agent.js');
    const esbuild = await import('esbuild');
    await esbuild.build({ entryPoints: [path.resolve(__dirname, '../../../tunnel-agent/main.ts')], outfile: script, bundle: true, platform: 'node', target: 'node18', format: 'cjs', logLevel: 'warning' });
    const id = 'reg-agent';
    const info = await agentDp.client.request('tunnel.start', { id, hops: [], knownHostsFiles: [], socks: { port: 0 }, agent: { kubeconfig: cluster.kubeconfigPath, namespace: ns!.name, scriptPath: script, owner: 'devlane-test', ttlSeconds: 30 } }, 180_000);
    assert.equal(info.transport, 'agent');
    const forward = await agentDp.client.request('tunnel.addReverseForward', { id, bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort });
    const inbound = inboundFor('agent', forward);
    assert.equal(inbound.via, 'agent');
    const session = await RegistrationSession.start(
      { registry: { kind: 'consul', url: registryUrl('consul') }, instance: { serviceName: 'laptop-agent', inbound, metadata: {} }, route: { kind: 'socks', port: info.socksPort } },
      log,
    );
    sessions.add(session);
    const [found] = await waitFor('laptop-agent in consul', async () => {
      const l = await lookup('consul', 'laptop-agent');
      return l.length ? l : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.deepEqual({ address: found!.address, port: found!.port }, { address: inbound.address, port: inbound.port });
    assert.equal(await curlFromPod(cluster.kc, ns!.name, clientPod, [`http://${found!.address}:${found!.port}/`]), 'hello from the laptop');
    await sessions.end(session.id);
    assert.deepEqual(await lookup('consul', 'laptop-agent'), []);
    await agentDp.client.request('tunnel.stop', { id });
  } finally {
    await agentDp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
