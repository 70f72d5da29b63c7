import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { network } from '../../../cluster/paths';
import type { DevlaneError } from '../../../extension/core/errors';
import { consoleLogger, silentLogger } from '../../../extension/core/log';
import { SessionRegistry } from '../../../extension/core/sessions/registry';
import { DeclaredSetup, declaredTunnels, declaredTunnelSpec, type ItemOutcome } from '../../../extension/core/tunnels/declared';
import { httpCall } from '../../../extension/core/tunnels/registry/http';
import { RegistrationSession } from '../../../extension/core/tunnels/registry/registrationSession';
import { TunnelController } from '../../../extension/core/tunnels/tunnelController';
import type { TunnelSession } from '../../../extension/core/tunnels/tunnelSession';
import { testCluster, testNamespace, type TestCluster, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { alive, createBastion, type Bastion } from './support/bastion';
import { dataPlaneFromSource } from './support/dataPlane';
import { consulLookup, curlFromPod, deployRegistries, registryPeers } from './support/registries';

/**
 * Tunnels declared in devlane.yaml against real peers: OpenSSH's sshd on a bastion with a leg in the
 * test cluster's network, Consul in the cluster, a local HTTP server. The tunnel's SOCKS proxy
 * requires a username and password, so every registry call below goes through an authenticated
 * SOCKS connection.
 */

const log = consoleLogger('warn', 'declared-test');
let cluster: TestCluster;
let ns: TestNamespace | undefined;
let b: Bastion | undefined;
let clientPod: string;
let local: http.Server;
let localPort: number;
let runtimeDir = '';
let controller: TunnelController | undefined;
let tunnel: TunnelSession;
let first: DeclaredSetup | undefined;
const sessions = new SessionRegistry(log, 20_000);
const credentials = { username: 'devlane', password: crypto.randomBytes(12).toString('hex') };
// A port on the bastion for the declared forward (the bastion namespace is ours: nothing else listens there).
const remotePort = 20_000 + crypto.randomInt(20_000);

before(async () => {
  const peers = registryPeers();
  cluster = await testCluster();
  ns = await testNamespace(cluster.kc, 'declared');
  local = http.createServer((req, res) => res.end(`hello from the laptop ${req.url}`));
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  localPort = (local.address() as AddressInfo).port;
  b = await createBastion({ cluster: network });
  await b.startSshd();
  ({ clientPod } = await deployRegistries(cluster.kc, ns.name, peers, ['consul']));
  runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-declared-'));
});

after(async () => {
  first?.dispose();
  await sessions.endAll();
  const pid = controller?.processId;
  await controller?.shutdown();
  controller?.dispose();
  if (pid !== undefined) await waitFor('the data plane to exit', () => !alive(pid) || undefined, { timeoutMs: 15_000 });
  await b?.close();
  local?.close();
  await ns?.dispose();
  if (runtimeDir) fs.rmSync(runtimeDir, { recursive: true, force: true });
});

/**
 * The tests below count forwards and registrations at moments of their choosing; a periodic try of
 * a failed item in between would add (and remove) one. Those are tested on their own.
 */
const NO_RETRY_HERE = { initialMs: 60 * 60_000, maxMs: 60 * 60_000 };

const consulUrl = () => `http://consul.${ns!.name}.svc.cluster.local:8500`;
const curl = (url: string) => curlFromPod(cluster.kc, ns!.name, clientPod, [url]);
const byKind = (setup: DeclaredSetup, kind: string) => setup.outcomes.filter((o) => o.item.kind === kind);
const describeOutcomes = (os: readonly ItemOutcome[]) => os.map((o) => `${o.label}: ${o.state}${o.error ? ` (${o.error.reason}: ${o.error.message})` : ''}`).join('\n');

/** The team's devlane.yaml, as checked in: the bastion, a reverse forward pods can reach, a Service, two registrations. */
function teamYaml(): string {
  const bastion = b!;
  return `version: 1
tunnels:
  - name: team-bastion
    transport: ssh
    ssh: {host: ${bastion.bastionIp}, user: root, identityFile: ${bastion.userKey}, clusterAddress: ${bastion.clusterIp}}
    socksPort: 0
    reverse:
      - {remotePort: ${remotePort}, localPort: ${localPort}, bind: 0.0.0.0}
    expose:
      - {service: laptop, localPort: ${localPort}}
    registrations:
      - {kind: consul, url: "${consulUrl()}", service: laptop-declared, localPort: ${localPort}}
      - {kind: consul, url: "http://no-such-registry.${ns!.name}.svc.cluster.local:8500", service: laptop-nowhere, localPort: ${localPort}}
`;
}

test('connecting a declared tunnel sets up its forward and registration; the items that cannot be set up are reported and do not stop the others', async () => {
  const parsed = declaredTunnels(teamYaml());
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const declared = parsed.tunnels[0]!;
  const kh = path.join(b!.dir, 'known_hosts_declared');
  fs.writeFileSync(kh, `${b!.knownHostsLine}\n`);
  controller = new TunnelController(
    { command: dataPlaneFromSource(), runtimeDir, instance: 'declared-test', graceMs: 5_000, startTimeoutMs: 60_000, log, answers: { hostKey: async () => false, secret: async () => undefined } },
    sessions,
    silentLogger,
  );
  const spec = declaredTunnelSpec(declared, { socksPort: 1080 });
  tunnel = await controller.connect({ ...spec, sshConfigFile: path.join(b!.dir, 'no-ssh-config'), knownHostsFiles: [kh], socksCredentials: credentials });
  assert.equal(tunnel.target, `root@${b!.bastionIp}:22`);

  first = controller.own(await DeclaredSetup.apply(tunnel, declared, { sessions, log, owner: 'declared-test', retry: NO_RETRY_HERE }));
  const [reverse] = byKind(first, 'reverse');
  const [expose] = byKind(first, 'expose');
  const [registration, nowhere] = byKind(first, 'registration');
  assert.equal(reverse?.state, 'ok', describeOutcomes(first.outcomes));
  assert.equal(registration?.state, 'ok', describeOutcomes(first.outcomes));
  // A Service needs the agent: refused with the reason and the way there.
  assert.equal(expose?.state, 'failed');
  assert.equal(expose?.error?.reason, 'invalid-input');
  assert.match(expose!.error!.message, /only send traffic to a pod/);
  assert.ok(expose?.error?.actions.some((a) => a.command === 'devlane.tunnel.connectAgent'));
  // A registry the bastion cannot reach fails on its own; nothing of it stays.
  assert.equal(nowhere?.state, 'failed');
  assert.equal(nowhere?.error?.reason, 'cluster-unreachable', nowhere?.error?.message);
  assert.equal(sessions.list('registration').length, 1);
  assert.equal(tunnel.forwards.length, 2, 'the declared forward and the registration\'s');

  // A pod reaches the laptop through the declared forward on the bastion's cluster-side address…
  assert.equal(await curl(`http://${b!.clusterIp}:${remotePort}/declared`), 'hello from the laptop /declared');
  // …and finds the laptop in Consul, registered through the authenticated SOCKS proxy.
  const [found] = await waitFor('laptop-declared in consul', async () => {
    const l = await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-declared');
    return l.length ? l : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(found!.address, b!.clusterIp);
  assert.equal(found!.id, registration!.registration!.instanceId);
  assert.equal(await curl(`http://${found!.address}:${found!.port}/registered`), 'hello from the laptop /registered');

  // The proxy does require the credentials: without them (or with wrong ones) the registry is not reached.
  const leader = { method: 'GET' as const, url: `${consulUrl()}/v1/status/leader` };
  await assert.rejects(httpCall({ kind: 'socks', port: tunnel.socksPort }, leader), (e: DevlaneError) => e.reason === 'tunnel-down' && /asks for authentication/.test(e.message));
  await assert.rejects(httpCall({ kind: 'socks', port: tunnel.socksPort, credentials: { ...credentials, password: 'wrong' } }, leader), (e: DevlaneError) => e.reason === 'tunnel-down' && /refused Devlane's credentials/.test(e.message));
  assert.equal((await httpCall(tunnel.registryRoute(), leader)).status, 200);

  // Expose on the SSH tunnel itself refuses before anything reaches the data plane.
  await assert.rejects(tunnel.exposeService(localPort, { name: 'laptop', port: 80 }), (e: DevlaneError) => e.reason === 'invalid-input' && e.actions.some((a) => a.command === 'devlane.tunnel.connectAgent'));
});

test('an item that failed at connect is set up by a later try once what it needs is there, without a reconnect', async () => {
  const parsed = declaredTunnels(`version: 1
tunnels:
  - name: late
    transport: ssh
    ssh: {host: ${b!.bastionIp}, clusterAddress: ${b!.clusterIp}}
    registrations:
      - {kind: consul, url: "http://late-consul.${ns!.name}.svc.cluster.local:8500", service: laptop-late, localPort: ${localPort}}
`);
  assert.ok(parsed.ok);
  const late = await DeclaredSetup.apply(tunnel, parsed.tunnels[0]!, { sessions, log, owner: 'declared-test', retry: { initialMs: 250, maxMs: 1_000 } });
  const recovered: ItemOutcome[] = [];
  late.onDidRecover((o) => recovered.push(o));
  try {
    const [item] = late.outcomes;
    assert.equal(item?.state, 'failed', describeOutcomes(late.outcomes));
    assert.equal(item?.error?.reason, 'cluster-unreachable', item?.error?.message);
    assert.equal(sessions.list('registration').length, 1, 'only the first set-up\'s registration');

    // The registry's name comes into being: a Service in front of the Consul that is already running.
    await cluster.kc.makeApiClient(CoreV1Api).createNamespacedService({
      namespace: ns!.name,
      body: { metadata: { name: 'late-consul' }, spec: { selector: { app: 'consul' }, ports: [{ port: 8500, targetPort: 8500 }] } },
    });
    await waitFor('the failed registration to be set up by a later try', () => late.outcomes[0]?.state === 'ok' || undefined, { timeoutMs: 90_000, intervalMs: 100 });
    assert.equal(controller!.state, 'on', 'no reconnect was needed');
    assert.deepEqual(recovered.map((o) => o.label), [late.outcomes[0]!.label], 'the recovery is announced once');
    const [found] = await waitFor('laptop-late in consul', async () => {
      const l = await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-late');
      return l.length ? l : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal(found!.address, b!.clusterIp);
    assert.equal(await curl(`http://${found!.address}:${found!.port}/late`), 'hello from the laptop /late');
  } finally {
    late.dispose();
    const reg = late.outcomes[0]?.registration;
    if (reg) await sessions.end(reg.id);
  }
  assert.deepEqual(await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-late'), []);
  assert.equal(sessions.list('registration').length, 1);
});

test('after an sshd restart the declared forward and registration work again', async () => {
  assert.ok(first, 'the declared tunnel is connected');
  const bastion = b!;
  await bastion.stopSshd();
  await waitFor('the tunnel to notice sshd is gone', () => controller!.state !== 'on' || undefined, { timeoutMs: 60_000, intervalMs: 100 });
  await bastion.startSshd();
  await waitFor('the tunnel to reconnect', () => controller!.state === 'on' || undefined, { timeoutMs: 60_000, intervalMs: 100 });
  await first.settled();
  assert.deepEqual(byKind(first, 'reverse').map((o) => o.state), ['ok'], describeOutcomes(first.outcomes));
  assert.equal(await waitFor('the declared forward to answer again', () => curl(`http://${bastion.clusterIp}:${remotePort}/again`), { timeoutMs: 60_000, intervalMs: 500 }), 'hello from the laptop /again');
  const [found] = await waitFor('laptop-declared still in consul', async () => {
    const l = await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-declared');
    return l.length ? l : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(await curl(`http://${found!.address}:${found!.port}/registered-again`), 'hello from the laptop /registered-again');
  const reg = sessions.list('registration')[0] as RegistrationSession;
  const renewals = reg.renewals;
  // The heartbeat goes through the reconnected tunnel (Consul's default TTL: renewed every 10 s).
  await waitFor('a heartbeat after the restart', () => (reg.renewals > renewals && reg.status.state === 'running') || undefined, { timeoutMs: 60_000, intervalMs: 200 });
});

test('with GatewayPorts no, sshd listens on its loopback only: the registration is refused with what to change, nothing is registered; fixed on the bastion, a reconnect sets it up', async () => {
  assert.ok(first, 'the declared tunnel is connected');
  const bastion = b!;
  bastion.setGatewayPorts('no');
  await bastion.stopSshd();
  await waitFor('the tunnel to notice sshd is gone', () => controller!.state !== 'on' || undefined, { timeoutMs: 60_000, intervalMs: 100 });
  await bastion.startSshd();
  await waitFor('the tunnel to reconnect', () => controller!.state === 'on' || undefined, { timeoutMs: 60_000, intervalMs: 100 });
  await first.settled();

  const parsed = declaredTunnels(`version: 1
tunnels:
  - name: loopback-bastion
    transport: ssh
    ssh: {host: ${bastion.bastionIp}, clusterAddress: ${bastion.clusterIp}}
    reverse:
      - {remotePort: 0, localPort: ${localPort}}
      - {remotePort: 0, localPort: ${localPort}, bind: 0.0.0.0}
    registrations:
      - {kind: consul, url: "${consulUrl()}", service: laptop-loopback, localPort: ${localPort}}
`);
  assert.ok(parsed.ok);
  const forwardsBefore = tunnel.forwards.length;
  const second = controller!.own(await DeclaredSetup.apply(tunnel, parsed.tunnels[0]!, { sessions, log, owner: 'declared-test', retry: NO_RETRY_HERE }));
  const [loopback, wide] = byKind(second, 'reverse');
  const [registration] = byKind(second, 'registration');
  // A loopback forward is what sshd allows; a forward meant for pods is not.
  assert.equal(loopback?.state, 'ok', describeOutcomes(second.outcomes));
  for (const o of [wide!, registration!]) {
    assert.equal(o.state, 'failed', describeOutcomes(second.outcomes));
    assert.equal(o.error?.reason, 'bastion-loopback-only', o.error?.message);
    assert.match(o.error!.message, /GatewayPorts clientspecified/);
    assert.match(o.error!.message, /in-cluster agent/);
    assert.ok(o.error!.actions.some((a) => a.command === 'devlane.tunnel.connectAgent'));
  }
  assert.deepEqual(await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-loopback'), [], 'no unreachable address was registered');
  // The first set-up's registration, now behind a loopback-only forward, was withdrawn rather than left pointing nowhere.
  assert.equal(byKind(first, 'registration')[0]?.error?.reason, 'bastion-loopback-only', describeOutcomes(first.outcomes));
  assert.deepEqual(await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-declared'), []);
  assert.equal(tunnel.forwards.length, forwardsBefore + 1, 'only the loopback forward stayed');

  // The administrator allows it and restarts sshd: the tunnel reconnects and the failed items come up.
  bastion.setGatewayPorts('clientspecified');
  await bastion.stopSshd();
  await waitFor('the tunnel to notice sshd is gone', () => controller!.state !== 'on' || undefined, { timeoutMs: 60_000, intervalMs: 100 });
  await bastion.startSshd();
  await waitFor('the failed items to be set up after the reconnect', async () => {
    await second.settled();
    return second.failures.length === 0 || undefined;
  }, { timeoutMs: 90_000, intervalMs: 200 });
  const [found] = await waitFor('laptop-loopback in consul', async () => {
    const l = await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-loopback');
    return l.length ? l : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(found!.address, bastion.clusterIp);
  assert.equal(await curl(`http://${found!.address}:${found!.port}/fixed`), 'hello from the laptop /fixed');
  const wideForward = byKind(second, 'reverse')[1]!.forward!;
  assert.equal(await curl(`http://${bastion.clusterIp}:${wideForward.bindPort}/wide`), 'hello from the laptop /wide');
  // The first set-up's forward, loopback-only while GatewayPorts was no, is reachable again too.
  await first.settled();
  assert.equal(await waitFor('the first declared forward', () => curl(`http://${bastion.clusterIp}:${remotePort}/first`), { timeoutMs: 60_000, intervalMs: 500 }), 'hello from the laptop /first');

  const [again] = await waitFor('laptop-declared back in consul', async () => {
    const l = await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-declared');
    return l.length ? l : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  assert.equal(await curl(`http://${again!.address}:${again!.port}/declared-back`), 'hello from the laptop /declared-back');

  // Disconnecting deregisters everything the declarations registered.
  await Promise.all(sessions.list('registration').map((r) => sessions.end(r.id)));
  await controller!.disconnect();
  assert.deepEqual(await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-declared'), []);
  assert.deepEqual(await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-loopback'), []);
});

test('re-attached after an extension-host restart, the set-up takes over the forwards the data plane kept instead of making them twice', async () => {
  const bastion = b!;
  const parsed = declaredTunnels(teamYaml());
  assert.ok(parsed.ok);
  const declared = { ...parsed.tunnels[0]!, expose: [], registrations: parsed.tunnels[0]!.registrations!.slice(0, 1) };
  const kh = path.join(bastion.dir, 'known_hosts_reattach');
  fs.writeFileSync(kh, `${bastion.knownHostsLine}\n`);
  const dataPlane = { command: dataPlaneFromSource(), runtimeDir, instance: 'declared-reattach', graceMs: 60_000, startTimeoutMs: 60_000, log, answers: { hostKey: async () => false, secret: async () => undefined } };
  const oldHost = new TunnelController(dataPlane, new SessionRegistry(silentLogger), silentLogger);
  let newHost: TunnelController | undefined;
  let pid: number | undefined;
  try {
    const old = await oldHost.connect({ ...declaredTunnelSpec(declared, { socksPort: 1080 }), sshConfigFile: path.join(bastion.dir, 'no-ssh-config'), knownHostsFiles: [kh] });
    pid = oldHost.processId;
    // What the previous extension host's set-up left in the data plane: the declared forward and the registration's.
    await old.addReverseForward({ bindAddress: '0.0.0.0', bindPort: remotePort, localHost: '127.0.0.1', localPort });
    const kept = await old.addReverseForward({ bindAddress: '0.0.0.0', bindPort: 0, localHost: '127.0.0.1', localPort });
    // The extension host goes away without stopping anything.
    oldHost.dispose();

    newHost = new TunnelController(dataPlane, sessions, silentLogger);
    await newHost.reattach();
    const session = newHost.session;
    assert.ok(session, 're-attached to the running tunnel');
    assert.equal(newHost.processId, pid);
    assert.equal(session.forwards.length, 2);
    const setup = newHost.own(await DeclaredSetup.apply(session, declared, { sessions, log, owner: 'declared-test', adoptExisting: true, retry: NO_RETRY_HERE }));
    assert.deepEqual(setup.outcomes.map((o) => o.state), ['ok', 'ok'], describeOutcomes(setup.outcomes));
    assert.equal(session.forwards.length, 2, 'nothing was made twice');
    const registration = byKind(setup, 'registration')[0]!;
    assert.equal(registration.forward?.bindPort, kept.bindPort, 'the registration took over its forward');
    const [found] = await waitFor('laptop-declared in consul newHost the re-attach', async () => {
      const l = await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-declared');
      return l.length ? l : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    assert.deepEqual({ address: found!.address, port: found!.port }, { address: bastion.clusterIp, port: kept.bindPort });
    assert.equal(await curl(`http://${found!.address}:${found!.port}/reattached`), 'hello from the laptop /reattached');
    assert.equal(await curl(`http://${bastion.clusterIp}:${remotePort}/reattached`), 'hello from the laptop /reattached');
    await sessions.end(registration.registration!.id);
    assert.deepEqual(await consulLookup(cluster.kc, ns!.name, clientPod, 'laptop-declared'), []);
  } finally {
    oldHost.dispose();
    await (newHost ?? oldHost).shutdown().catch(() => undefined);
    newHost?.dispose();
    const started = pid;
    if (started !== undefined) {
      // When the test failed before the re-attach, no controller holds the process: end the one this test started.
      if (!newHost?.processId && alive(started)) process.kill(started, 'SIGTERM');
      await waitFor('the re-attached data plane to exit', () => !alive(started) || undefined, { timeoutMs: 15_000 });
    }
  }
});
