// The pod runner's pure translations (no cluster needed): pod spec → argv/env, Services and
// EndpointSlices → NAT rules and DNS lines. Kept beside the cluster's integration tests.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { serviceRules } from '../../../cluster/pod-runner/network';
import { serviceState } from '../../../cluster/pod-runner/services';
import { containerArgv, containerEnv, expandVars, imageRepository, SpecError } from '../../../cluster/pod-runner/spec';

describe('pod runner translations', () => {
  it('expands $(VAR) like Kubernetes: known names, $$ escapes, unknown names kept', () => {
    assert.equal(expandVars('a-$(X)-$$(X)-$(NOPE)', { X: '1' }), 'a-1-$(X)-$(NOPE)');
  });

  it('builds argv: command replaces ENTRYPOINT and CMD, args replace CMD', () => {
    const image = { entrypoint: ['ep'], cmd: ['default'] };
    assert.deepEqual(containerArgv({ name: 'c', command: ['run', '$(A)'], args: ['x'] }, { A: 'a' }, image), ['run', 'a', 'x']);
    assert.deepEqual(containerArgv({ name: 'c', args: ['x'] }, {}, image), ['ep', 'x']);
    assert.deepEqual(containerArgv({ name: 'c' }, {}, image), ['ep', 'default']);
    assert.deepEqual(containerArgv({ name: 'c', args: ['sleep', '5'] }, {}, { cmd: ['sh'] }), ['sleep', '5']);
    assert.throws(() => containerArgv({ name: 'c', image: 'unknown/thing' }, {}, undefined), SpecError);
  });

  it('resolves env from values, fieldRefs, ConfigMaps and Secrets, in order', () => {
    const pod: V1Pod = { metadata: { name: 'p', namespace: 'n', labels: { app: 'x' } }, status: { podIP: '10.244.1.9' }, spec: { containers: [] } };
    const env = containerEnv(
      pod,
      {
        name: 'c',
        envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
        env: [
          { name: 'A', value: 'a' },
          { name: 'B', value: '$(A)b' },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        ],
      },
      { configMap: () => ({ one: '1' }), secret: () => ({ k: 'v' }) },
    );
    assert.equal(env.CM_one, '1');
    assert.deepEqual([env.A, env.B, env.IP, env.APP, env.S, env.HOSTNAME], ['a', 'ab', '10.244.1.9', 'x', 'v', 'p']);
    assert.throws(() => containerEnv(pod, { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'missing', key: 'k' } } }] }, { configMap: () => undefined, secret: () => undefined }), SpecError);
  });

  it('strips tag and digest from image names', () => {
    assert.equal(imageRepository('localhost:5000/a/b:1.2'), 'localhost:5000/a/b');
    assert.equal(imageRepository('node@sha256:abc'), 'node');
    assert.equal(imageRepository('busybox'), 'busybox');
  });

  it('turns Services and ready endpoints into NAT rules and DNS names', () => {
    const svc: V1Service = { metadata: { name: 'inv', namespace: 'shop' }, spec: { clusterIP: '10.96.0.7', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
    const empty: V1Service = { metadata: { name: 'none', namespace: 'shop' }, spec: { clusterIP: '10.96.0.8', ports: [{ port: 81 }] } };
    const slice: V1EndpointSlice = {
      addressType: 'IPv4',
      metadata: { namespace: 'shop', labels: { 'kubernetes.io/service-name': 'inv' } },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.1.2'], conditions: { ready: true } },
        { addresses: ['10.244.2.2'], conditions: { ready: true } },
        { addresses: ['10.244.2.3'], conditions: { ready: false } },
      ],
    };
    const { rules, hosts } = serviceState([svc, empty], [slice]);
    assert.deepEqual(rules, [
      { clusterIP: '10.96.0.7', port: 80, protocol: 'TCP', endpoints: ['10.244.1.2:8080', '10.244.2.2:8080'] },
      { clusterIP: '10.96.0.8', port: 81, protocol: 'TCP', endpoints: [] },
    ]);
    assert.equal(hosts, '10.96.0.7 inv.shop.svc.cluster.local\n10.96.0.8 none.shop.svc.cluster.local\n');
    const text = serviceRules(rules);
    assert.match(text, /-A DEVLANE-SVC-0 -m statistic --mode random --probability 0\.50000 -p tcp -j DNAT --to-destination 10\.244\.1\.2:8080/);
    assert.match(text, /-A DEVLANE-SVC-0 -p tcp -j DNAT --to-destination 10\.244\.2\.2:8080/);
    assert.match(text, /-A FORWARD -d 10\.96\.0\.8\/32 -p tcp -m tcp --dport 81 -j REJECT --reject-with tcp-reset/);
  });
});
