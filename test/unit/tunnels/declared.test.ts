import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DevlaneError } from '../../../extension/core/errors';
import { declaredItems, declaredTunnels, declaredTunnelSpec, itemLabel } from '../../../extension/core/tunnels/declared';
import { encodeSocksAuth } from '../../../extension/core/tunnels/registry/http';
import { explainBastionRefusal, isLoopback } from '../../../extension/core/tunnels/registry/inbound';
import { resolveHops, serviceNeedsAgent } from '../../../extension/core/tunnels/tunnelSession';

const TEAM_YAML = `version: 1
tunnels:
  - name: staging
    transport: ssh
    ssh: {host: bastion, user: dev, port: 2222, identityFile: ~/.ssh/team_key, proxyJump: jump.example, clusterAddress: 10.0.0.9}
    socksPort: 1081
    httpPort: 0
    reverse:
      - {remotePort: 18080, localPort: 8080}
      - {remotePort: 0, localPort: 9090, bind: 0.0.0.0}
    registrations:
      - {kind: consul, url: "http://consul.infra:8500", service: orders, localPort: 8080}
  - name: no-bastion
    transport: agent
    agent: {namespace: team-a}
    expose:
      - {service: orders-laptop, localPort: 8080}
    registrations:
      - {kind: nacos, url: "http://nacos.infra:8848/nacos", service: orders, localPort: 8080, remotePort: 18080}
`;

test('devlane.yaml tunnels are read with every field the schema declares', () => {
  const r = declaredTunnels(TEAM_YAML);
  assert.ok(r.ok, JSON.stringify(r));
  const [staging, agent] = r.tunnels;
  assert.deepEqual(staging, {
    name: 'staging',
    transport: 'ssh',
    ssh: { host: 'bastion', user: 'dev', port: 2222, identityFile: '~/.ssh/team_key', proxyJump: 'jump.example', clusterAddress: '10.0.0.9' },
    socksPort: 1081,
    httpPort: 0,
    reverse: [{ remotePort: 18080, localPort: 8080 }, { remotePort: 0, localPort: 9090, bind: '0.0.0.0' }],
    registrations: [{ kind: 'consul', url: 'http://consul.infra:8500', service: 'orders', localPort: 8080 }],
  });
  assert.equal(agent?.transport, 'agent');
  assert.deepEqual(agent?.expose, [{ service: 'orders-laptop', localPort: 8080 }]);
  assert.deepEqual(declaredTunnels('version: 1\n'), { ok: true, tunnels: [] });
});

test('devlane.yaml tunnel problems are located: ssh without a host, unknown registry, a password, a bad Service name', () => {
  const r = declaredTunnels(`version: 1
tunnels:
  - name: a
    transport: ssh
  - name: b
    transport: ssh
    ssh: {host: h, password: hunter2}
    registrations:
      - {kind: zookeeper, url: "http://zk:2181", service: x, localPort: 1}
  - name: c
    transport: agent
    expose:
      - {service: Not_A_Name, localPort: 8080}
`);
  assert.ok(!r.ok);
  const messages = r.problems.map((p) => `${p.line}:${p.message}`);
  const has = (line: number, text: string) => assert.ok(messages.some((m) => m.startsWith(`${line}:`) && m.includes(text)), `${line}: ${text} in\n${messages.join('\n')}`);
  has(2, 'tunnels.0: missing "ssh"');
  // Secrets have no place in the file: the key is unknown, and marked where it is.
  has(6, 'unknown key "password"');
  has(8, 'tunnels.1.registrations.0.kind: must be one of "consul", "eureka", "nacos"');
  has(12, 'tunnels.2.expose.0.service');
  // Ajv's "must match then" twin of the missing-ssh problem is not shown.
  assert.ok(!messages.some((m) => m.includes('"then"')), messages.join('\n'));
});

test('the top-level sections no feature reads are gone from the schema', () => {
  for (const section of ['deploy: {artifact: x.jar}', 'lanes: [{name: alice}]']) {
    const r = declaredTunnels(`version: 1\n${section}\n`);
    assert.ok(!r.ok && r.problems.some((p) => p.message.includes('unknown key')), section);
  }
});

test('a declared SSH tunnel becomes a spec: its ssh options override ~/.ssh/config, the settings fill in the rest', () => {
  const r = declaredTunnels(TEAM_YAML);
  assert.ok(r.ok);
  const spec = declaredTunnelSpec(r.tunnels[0]!, { socksPort: 1080, httpPort: 3128, keepaliveIntervalMs: 15_000, keepaliveCountMax: 3, agentSocket: '/run/agent.sock' });
  assert.deepEqual(spec, {
    destination: 'bastion',
    label: 'staging',
    ssh: { user: 'dev', port: 2222, identityFile: '~/.ssh/team_key', proxyJump: 'jump.example' },
    socksPort: 1081,
    httpPort: 0,
    keepaliveIntervalMs: 15_000,
    keepaliveCountMax: 3,
    agentSocket: '/run/agent.sock',
  });
  const plain = declaredTunnelSpec({ name: 'p', transport: 'ssh', ssh: { host: 'h.example' } }, { socksPort: 1080 });
  assert.deepEqual(plain, { destination: 'h.example', label: 'p', socksPort: 1080 });
});

test('a declared agent tunnel takes the cluster connection\'s agent parameters, in its own namespace when it names one', () => {
  const r = declaredTunnels(TEAM_YAML);
  assert.ok(r.ok);
  const agent = { kubeconfig: '/k', context: 'c', namespace: 'default', scriptPath: '/ext/dist/tunnel-agent.js', owner: 'ann' };
  const spec = declaredTunnelSpec(r.tunnels[1]!, { socksPort: 0 }, agent);
  assert.deepEqual(spec.agent, { ...agent, namespace: 'team-a' });
  assert.equal(spec.destination, 'no-bastion (agent in team-a)');
  assert.throws(() => declaredTunnelSpec(r.tunnels[1]!, { socksPort: 0 }), (e: DevlaneError) => e.reason === 'cluster-unreachable');
  assert.equal(declaredTunnelSpec({ name: 'x', transport: 'agent' }, { socksPort: 0 }, agent).agent?.namespace, 'default');
});

test('ssh options from devlane.yaml win over ~/.ssh/config while the rest of it still applies', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-declared-'));
  try {
    const config = path.join(dir, 'config');
    fs.writeFileSync(config, ['Host bastion', '  HostName 10.1.2.3', '  User ops', '  Port 22', '  IdentityFile ~/.ssh/ops_key', '', 'Host jump.example', '  User jumper', '  Port 2200', ''].join('\n'));
    const hops = resolveHops({ destination: 'bastion', sshConfigFile: config, ssh: { user: 'dev', port: 2222, identityFile: '~/.ssh/team_key', proxyJump: 'jump.example' } }, '/home/ann', 'ann');
    assert.deepEqual(
      hops.map((h) => ({ alias: h.alias, hostName: h.hostName, port: h.port, user: h.user, identityFiles: h.identityFiles })),
      [
        { alias: 'jump.example', hostName: 'jump.example', port: 2200, user: 'jumper', identityFiles: ['/home/ann/.ssh/id_ed25519', '/home/ann/.ssh/id_ecdsa', '/home/ann/.ssh/id_rsa'] },
        // HostName from the alias; user, port and jump from devlane.yaml; its key tried first.
        { alias: 'bastion', hostName: '10.1.2.3', port: 2222, user: 'dev', identityFiles: ['/home/ann/.ssh/team_key', '/home/ann/.ssh/ops_key'] },
      ],
    );
    // Without options the user's config alone decides.
    assert.deepEqual(resolveHops({ destination: 'bastion', sshConfigFile: config }, '/home/ann', 'ann').map((h) => `${h.user}@${h.hostName}:${h.port}`), ['ops@10.1.2.3:22']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('declared items keep their order (forwards, Services, registrations) and say what they are', () => {
  const r = declaredTunnels(TEAM_YAML);
  assert.ok(r.ok);
  assert.deepEqual(declaredItems(r.tunnels[0]!).map((i) => itemLabel(i, 'ssh')), [
    'reverse forward 127.0.0.1:18080 → localhost:8080',
    'reverse forward 0.0.0.0:0 → localhost:9090',
    'orders in consul → localhost:8080',
  ]);
  assert.deepEqual(declaredItems(r.tunnels[1]!).map((i) => itemLabel(i, 'agent')), ['Service orders-laptop:8080 → localhost:8080', 'orders in nacos → localhost:8080']);
});

test('SOCKS username/password request (RFC 1929), and credentials it cannot carry are refused', () => {
  assert.deepEqual([...encodeSocksAuth({ username: 'ab', password: 'xyz' })], [1, 2, 0x61, 0x62, 3, 0x78, 0x79, 0x7a]);
  assert.throws(() => encodeSocksAuth({ username: '', password: 'x' }), (e: DevlaneError) => e.reason === 'invalid-input');
  assert.throws(() => encodeSocksAuth({ username: 'u', password: 'p'.repeat(256) }), (e: DevlaneError) => e.reason === 'invalid-input');
});

test('a Service on an SSH tunnel is refused with why and the way to the agent; a refused non-loopback forward says what the bastion needs', () => {
  const e = serviceNeedsAgent();
  assert.equal(e.reason, 'invalid-input');
  assert.match(e.message, /Service can only send traffic to a pod/);
  assert.ok(e.actions.some((a) => a.command === 'devlane.tunnel.connectAgent'));

  const refused = new DevlaneError('port-in-use', 'The bastion refused to listen on 0.0.0.0:80.');
  const explained = explainBastionRefusal(refused, '0.0.0.0') as DevlaneError;
  assert.equal(explained.reason, 'port-in-use');
  assert.match(explained.message, /GatewayPorts clientspecified/);
  assert.ok(explained.actions.some((a) => a.command === 'devlane.tunnel.connectAgent'));
  // On the loopback the bastion's sshd settings do not matter: the message stays as it was.
  assert.equal(explainBastionRefusal(refused, '127.0.0.1'), refused);
  assert.ok(isLoopback('127.0.0.1') && isLoopback('127.0.1.1') && isLoopback('::1') && isLoopback('localhost'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('10.0.0.1'));
});
