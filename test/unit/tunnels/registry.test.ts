import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { consulCheckId, consulServiceDefinition } from '../../../extension/core/tunnels/registry/consul';
import { eurekaAppName, eurekaInstance } from '../../../extension/core/tunnels/registry/eureka';
import { joinUrl, socksReplyLength } from '../../../extension/core/tunnels/registry/http';
import { nacosBeat, nacosBeatKnown, nacosInstanceParams } from '../../../extension/core/tunnels/registry/nacos';
import { inboundFor, targetHost } from '../../../extension/core/tunnels/registry/inbound';
import { validRegistryServiceName } from '../../../extension/core/tunnels/registry/registrationSession';
import type { ServiceInstance } from '../../../extension/core/tunnels/registry/types';

const instance: ServiceInstance = { serviceName: 'orders', inbound: { address: '10.244.250.7', port: 41234, via: 'bastion' }, metadata: { owner: 'ann' } };

test('Consul: the service carries the inbound address and a passing TTL check that Consul reaps if the laptop vanishes', () => {
  const d = consulServiceDefinition(instance, 'orders-1', { ttlSeconds: 12, deregisterAfterSeconds: 10 });
  assert.deepEqual(d, {
    ID: 'orders-1',
    Name: 'orders',
    Address: '10.244.250.7',
    Port: 41234,
    Meta: { owner: 'ann' },
    Tags: ['devlane'],
    Check: { CheckID: 'service:orders-1', Name: 'Devlane tunnel heartbeat', TTL: '12s', Status: 'passing', DeregisterCriticalServiceAfter: '60s' },
  });
  assert.equal(consulCheckId('x'), 'service:x');
  assert.equal((consulServiceDefinition(instance, 'o').Check as { TTL: string }).TTL, '30s');
});

test('Eureka: the instance document names the app in upper case with the inbound address, UP, and the lease Devlane renews', () => {
  const doc = eurekaInstance(instance, 'orders-1', { renewIntervalSeconds: 5, leaseDurationSeconds: 20 }).instance as Record<string, unknown>;
  assert.equal(eurekaAppName('orders'), 'ORDERS');
  assert.equal(doc.app, 'ORDERS');
  assert.equal(doc.instanceId, 'orders-1');
  assert.equal(doc.ipAddr, '10.244.250.7');
  assert.equal(doc.hostName, '10.244.250.7');
  assert.equal(doc.vipAddress, 'orders');
  assert.equal(doc.status, 'UP');
  assert.deepEqual(doc.port, { $: 41234, '@enabled': 'true' });
  assert.deepEqual(doc.leaseInfo, { renewalIntervalInSecs: 5, durationInSecs: 20 });
  assert.deepEqual(doc.metadata, { owner: 'ann' });
  assert.equal((doc.dataCenterInfo as Record<string, string>)['@class'], 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo');
});

test('Nacos: an ephemeral instance at the inbound address, beats that carry it, and 20404 read as "forgotten"', () => {
  assert.equal(nacosInstanceParams(instance).toString(), 'serviceName=orders&ip=10.244.250.7&port=41234&ephemeral=true&clusterName=DEFAULT');
  assert.equal(nacosInstanceParams(instance, { namespaceId: 'dev', groupName: 'G', clusterName: 'C' }).toString(), 'serviceName=orders&ip=10.244.250.7&port=41234&ephemeral=true&clusterName=C&namespaceId=dev&groupName=G');
  assert.deepEqual(nacosBeat(instance), { serviceName: 'orders', ip: '10.244.250.7', port: 41234, cluster: 'DEFAULT', weight: 1, metadata: { owner: 'ann' } });
  assert.equal(nacosBeatKnown({ status: 200, body: '{"clientBeatInterval":5000}' }), true);
  assert.equal(nacosBeatKnown({ status: 200, body: '{"clientBeatInterval":5000,"code":10200}' }), true);
  assert.equal(nacosBeatKnown({ status: 200, body: '{"code":20404}' }), false);
  assert.equal(nacosBeatKnown({ status: 404, body: '' }), false);
  assert.equal(nacosBeatKnown({ status: 200, body: 'ok' }), true);
});

test('inbound address: the agent reports it; a bastion forward takes the user-given address and its bound port', () => {
  const f = { bindAddress: '0.0.0.0', bindPort: 40000, localHost: '127.0.0.1', localPort: 8080 };
  assert.deepEqual(inboundFor('ssh', f, 'bastion.internal'), { address: 'bastion.internal', port: 40000, via: 'bastion' });
  assert.deepEqual(inboundFor('agent', { ...f, reachable: { address: '10.244.1.9', port: 7001 } }), { address: '10.244.1.9', port: 7001, via: 'agent' });
  assert.throws(() => inboundFor('agent', f), (e: { reason?: string }) => e.reason === 'tunnel-down');
  assert.throws(() => inboundFor('ssh', f), (e: { reason?: string }) => e.reason === 'invalid-input');
  assert.throws(() => inboundFor('ssh', { ...f, bindAddress: '127.0.0.1' }, 'b'), (e: { reason?: string }) => e.reason === 'invalid-input');
});

test('the default bastion address is the host of the tunnel target', () => {
  assert.equal(targetHost('root@10.213.4.2:22'), '10.213.4.2');
  assert.equal(targetHost('bastion.example.com'), 'bastion.example.com');
  assert.equal(targetHost('ann@jump:2222'), 'jump');
});

test('service names: DNS-label shaped', () => {
  for (const ok of ['orders', 'ORDER-SERVICE', 'a', 'a1-b2']) assert.ok(validRegistryServiceName(ok), ok);
  for (const bad of ['', '-x', 'x-', 'a b', 'a/b', 'a.b', 'x'.repeat(64)]) assert.ok(!validRegistryServiceName(bad), bad);
});

test('SOCKS reply length follows the bound address type; URLs join without doubled slashes', () => {
  assert.equal(socksReplyLength(Buffer.from([5, 0, 0, 1])), undefined);
  assert.equal(socksReplyLength(Buffer.from([5, 0, 0, 1, 0])), 10);
  assert.equal(socksReplyLength(Buffer.from([5, 0, 0, 4, 0])), 22);
  assert.equal(socksReplyLength(Buffer.from([5, 0, 0, 3, 9])), 16);
  assert.equal(joinUrl('http://e:8761/eureka/', '/apps/X'), 'http://e:8761/eureka/apps/X');
  assert.equal(joinUrl('http://c:8500', 'v1/agent'), 'http://c:8500/v1/agent');
});
