import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { probeCluster } from '../../../extension/core/kube/probe';
import { DevlaneError } from '../../../extension/core/errors';
import { testCluster } from '../../support/cluster';

const opened: net.Server[] = [];
const sockets: net.Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of opened) s.close();
});

function kubeconfigFor(server: string, token = 'not-a-valid-token'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DevlaneError, String(e));
    assert.ok(e.actions.length > 0);
    return e.reason;
  }
  return 'no error';
}

test('a closed port is "cluster-unreachable"', async () => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  assert.equal(await reason(probeCluster(kubeconfigFor(`https://127.0.0.1:${port}`), 5_000)), 'cluster-unreachable');
});

test('a server that accepts but never answers is "cluster-unreachable" after the deadline', async () => {
  const s = net.createServer((socket) => void sockets.push(socket));
  opened.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const started = Date.now();
  assert.equal(await reason(probeCluster(kubeconfigFor(`https://127.0.0.1:${(s.address() as net.AddressInfo).port}`), 1_500)), 'cluster-unreachable');
  assert.ok(Date.now() - started < 10_000);
});

test('the real API server answers with its version, and refuses a bad token with "cluster-unauthorized"', async () => {
  const { kc } = await testCluster();
  const info = await probeCluster(kc);
  assert.match(info.gitVersion, /^v1\.\d+\.\d+/);
  const server = kc.getCurrentCluster()?.server ?? '';
  assert.equal(await reason(probeCluster(kubeconfigFor(server))), 'cluster-unauthorized');
});
