import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { injectProxy, javaProxyArgs, proxyEnvironment } from '../../../extension/core/tunnels/proxyEnv';

test('proxy environment in both cases, keeping the user\'s own values and loopback direct', () => {
  const env = proxyEnvironment({ socksPort: 1080, httpPort: 8118 }, { https_proxy: 'http://corp:3128', NO_PROXY: 'internal.corp' });
  assert.equal(env.HTTP_PROXY, 'http://127.0.0.1:8118');
  assert.equal(env.http_proxy, 'http://127.0.0.1:8118');
  assert.equal(env.HTTPS_PROXY, 'http://corp:3128');
  assert.equal(env.ALL_PROXY, 'socks5h://127.0.0.1:1080');
  assert.equal(env.NO_PROXY, 'internal.corp,localhost,127.0.0.1,::1,.localhost');
  assert.equal(proxyEnvironment({ socksPort: 1080 }).HTTP_PROXY, 'socks5h://127.0.0.1:1080');
});

test('Java gets SOCKS system properties appended to vmArgs (string or array), once', () => {
  const s = injectProxy({ type: 'java', name: 'App', vmArgs: '-Xmx512m' }, { socksPort: 1080 });
  assert.equal(s.vmArgs, `-Xmx512m ${javaProxyArgs({ socksPort: 1080 }).join(' ')}`);
  const a = injectProxy({ type: 'java', vmArgs: ['-ea'] }, { socksPort: 1080 });
  assert.deepEqual(a.vmArgs, ['-ea', '-DsocksProxyHost=127.0.0.1', '-DsocksProxyPort=1080', '-DsocksNonProxyHosts=localhost|127.*|[::1]']);
  const mine = { type: 'java', vmArgs: '-DsocksProxyHost=other' };
  assert.equal(injectProxy(mine, { socksPort: 1080 }), mine);
});

test('Node, Python and Go get env without losing theirs; the input is not modified', () => {
  for (const type of ['node', 'pwa-node', 'debugpy', 'python', 'go']) {
    const cfg = { type, env: { FOO: '1' } };
    const out = injectProxy(cfg, { socksPort: 1, httpPort: 2 });
    assert.equal(out.env?.FOO, '1');
    assert.equal(out.env?.HTTPS_PROXY, 'http://127.0.0.1:2');
    assert.deepEqual(cfg.env, { FOO: '1' });
  }
});
