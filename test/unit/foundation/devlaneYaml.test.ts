import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseDevlaneYaml } from '../../../extension/core/config/devlaneYaml';

test('a complete devlane.yaml validates', () => {
  const r = parseDevlaneYaml(`version: 1
cluster: {context: demo, namespace: shop}
clones:
  - source: {kind: Deployment, name: orders, namespace: shop}
    options:
      startCommand: keep-alive
      node: kwok-node-0
      removeProbes: {liveness: true}
      tcpdump: {enabled: true, filter: "tcp port 8080"}
      jvm: {jdwp: {enabled: true, port: 5005, suspend: false}, heapDumpOnOutOfMemory: true}
      resources: {limits: {cpu: 500m, memory: 512Mi}}
      env: {LOG_LEVEL: debug}
      labels: {lane: alice}
deploy: {artifact: target/*.jar, restart: true, waitFor: {port: 8080}}
debug: {sourcePaths: [src/main/java]}
tunnels:
  - {name: bastion, transport: ssh, ssh: {host: bastion.example, user: dev}, reverse: [{remotePort: 18080, localPort: 8080}]}
lanes:
  - {name: alice, service: orders, mesh: istio}
`);
  assert.ok(r.ok, JSON.stringify(r));
});

test('problems are located at the offending key or value', () => {
  const r = parseDevlaneYaml('version: 1\nclones:\n  - source: {kind: Job, name: x}\n    optionz: {}\n');
  assert.ok(!r.ok);
  const messages = r.problems.map((p) => `${p.line}:${p.message}`);
  assert.ok(messages.some((m) => m.startsWith('3:') && m.includes('unknown key "optionz"')), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('2:') && m.includes('clones.0.source.kind: must be one of')), messages.join('\n'));
});

test('YAML syntax errors and a missing version are reported', () => {
  const bad = parseDevlaneYaml('version: 1\nclones: [\n');
  assert.ok(!bad.ok && bad.problems[0]?.message.startsWith('YAML:'));
  const noVersion = parseDevlaneYaml('cluster: {}\n');
  assert.ok(!noVersion.ok && noVersion.problems.some((p) => p.message.includes('missing "version"')));
});
