import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseDevlaneYaml } from '../../../extension/core/config/devlaneYaml';

test('a complete devlane.yaml validates', () => {
  const r = parseDevlaneYaml(`version: 1
cluster: {context: demo, namespace: shop}
clones:
  - namespace: shop
    kind: Deployment
    name: orders
    startCommand: keep-alive
    nodeName: kwok-node-0
    removeProbes: {liveness: true}
    capture: {enabled: true, filter: "tcp port 8080"}
    jvm: {jdwp: {enabled: true, port: 5005, suspend: false}, heapDumpOnOom: true}
    resources: {limits: {cpu: 500m, memory: 512Mi}}
    env: {LOG_LEVEL: debug}
    labels: {lane: alice}
    deploy: {artifact: target/classes, readinessPort: 8080, on: save, watch: [src/**, pom.xml]}
  - {namespace: shop, kind: Deployment, name: inventory, deploy: {on: task, task: "mvn: package"}}
debug: {sourcePaths: [src/main/java]}
tunnels:
  - {name: bastion, transport: ssh, ssh: {host: bastion.example, user: dev}, reverse: [{remotePort: 18080, localPort: 8080}]}
`);
  assert.ok(r.ok, JSON.stringify(r));
});

test('problems are located at the offending key or value', () => {
  const r = parseDevlaneYaml('version: 1\nclones:\n  - {namespace: shop, kind: Job, name: x}\n  - namespace: shop\n    kind: Pod\n    name: y\n    optionz: {}\n');
  assert.ok(!r.ok);
  const messages = r.problems.map((p) => `${p.line}:${p.message}`);
  assert.ok(messages.some((m) => m.startsWith('6:') && m.includes('unknown key "optionz"')), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('2:') && m.includes('clones.0.kind: must be one of')), messages.join('\n'));
});

test('a redeploy mode other than save, task or manual is located at its value', () => {
  const r = parseDevlaneYaml('version: 1\nclones:\n  - namespace: shop\n    kind: Deployment\n    name: orders\n    deploy: {on: always, watch: src/**}\n');
  assert.ok(!r.ok);
  const messages = r.problems.map((p) => `${p.line}:${p.message}`);
  assert.ok(messages.some((m) => m.startsWith('5:') && m.includes('clones.0.deploy.on: must be one of "save", "task", "manual"')), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('5:') && m.includes('clones.0.deploy.watch')), messages.join('\n'));
});

test('YAML syntax errors and a missing version are reported', () => {
  const bad = parseDevlaneYaml('version: 1\nclones: [\n');
  assert.ok(!bad.ok && bad.problems[0]?.message.startsWith('YAML:'));
  const noVersion = parseDevlaneYaml('cluster: {}\n');
  assert.ok(!noVersion.ok && noVersion.problems.some((p) => p.message.includes('missing "version"')));
});

test('clone options saved by the clone feature always validate against the schema', async () => {
  const { saveCloneOptions } = await import('../../../extension/core/clones/config');
  const { resolveOptions } = await import('../../../extension/core/clones/spec/options');
  const every = resolveOptions({
    startCommand: 'original',
    nodeName: 'devlane-node-1',
    removeProbes: { liveness: false, readiness: true, startup: true },
    capture: { enabled: true, mode: 'sidecar', image: 'tcpdump:latest', filter: 'tcp port 8080', fileSizeMb: 5, fileCount: 3 },
    jvm: { jdwp: { enabled: true, port: 5006, suspend: true }, exceptionLogging: true, heapDumpOnOom: false, extraOptions: ['-Xmx256m'] },
    resources: { requests: { cpu: '250m' }, limits: { memory: '512Mi' } },
    env: { A: 'b' },
    labels: { lane: 'alice' },
    keepInServices: true,
    ttlMinutes: 30,
  } as never);
  const text = saveCloneOptions('version: 1\n', { namespace: 'shop', kind: 'Deployment', name: 'orders' }, every);
  const r = parseDevlaneYaml(text);
  assert.ok(r.ok, `${text}\n${JSON.stringify(r)}`);
});
