import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeInjection, injectProxy, javaProxyArgs, newProxyCredentials, proxyEnvironment, proxyInjectionProblem, runsProgram } from '../../../extension/core/tunnels/proxyEnv';

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

test('with authentication on, every proxy URL carries the credentials, percent-encoded so they survive URL parsing', () => {
  const credentials = { username: 'dev lane@x', password: 'p:a/s%s#w?o&r=d+é' };
  const env = proxyEnvironment({ socksPort: 1080, httpPort: 1081, credentials });
  for (const k of ['ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy']) {
    const u = new URL(env[k]!);
    assert.equal(decodeURIComponent(u.username), credentials.username, k);
    assert.equal(decodeURIComponent(u.password), credentials.password, k);
    assert.equal(u.hostname, '127.0.0.1', k);
  }
  assert.equal(new URL(env.ALL_PROXY!).protocol, 'socks5h:');
  assert.equal(new URL(env.ALL_PROXY!).port, '1080');
  assert.equal(new URL(env.HTTP_PROXY!).protocol, 'http:');
  assert.equal(new URL(env.HTTPS_PROXY!).port, '1081');
  assert.equal(env.ALL_PROXY, 'socks5h://dev%20lane%40x:p%3Aa%2Fs%25s%23w%3Fo%26r%3Dd%2B%C3%A9@127.0.0.1:1080');
  // Without an HTTP proxy, HTTP(S)_PROXY fall back to SOCKS, with the credentials too.
  assert.equal(proxyEnvironment({ socksPort: 1080, credentials }).HTTP_PROXY, env.ALL_PROXY);
  // A terminal or session that set its own proxy keeps it.
  assert.equal(proxyEnvironment({ socksPort: 1080, credentials }, { ALL_PROXY: 'socks5://corp:1' }).ALL_PROXY, 'socks5://corp:1');
  // Node, Python and Go sessions get the same.
  const node = injectProxy({ type: 'node', name: 'api' }, { socksPort: 1080, httpPort: 1081, credentials });
  assert.equal(node.env?.ALL_PROXY, env.ALL_PROXY);
  assert.equal(node.env?.HTTPS_PROXY, env.HTTPS_PROXY);
});

test('fresh credentials are random, URL-safe, within the SOCKS5 limits and never the same twice', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const c = newProxyCredentials();
    assert.match(c.username, /^[A-Za-z0-9_-]{1,255}$/);
    assert.match(c.password, /^[A-Za-z0-9_-]{32,255}$/);
    assert.ok(!seen.has(c.password) && !seen.has(c.username));
    seen.add(c.password);
    seen.add(c.username);
  }
});

test('a Java session is not pointed at an authenticating tunnel: the JVM cannot send the credentials from its options', () => {
  const credentials = { username: 'devlane-u', password: 'secret-pass-word' };
  const cfg = { type: 'java', name: 'Orders', vmArgs: '-Xmx1g' };
  assert.equal(injectProxy(cfg, { socksPort: 1080, credentials }), cfg);
  const problem = proxyInjectionProblem(cfg, { socksPort: 1080, credentials });
  assert.equal(problem?.reason, 'invalid-input');
  assert.match(problem!.message, /Orders/);
  assert.ok(!problem!.message.includes(credentials.password) && !problem!.message.includes(credentials.username));
  assert.deepEqual(problem!.actions.map((a) => a.args), [['devlane.tunnel.proxyAuth']]);
  // Without authentication Java is injected as before; other types never have a problem.
  assert.equal(proxyInjectionProblem(cfg, { socksPort: 1080 }), undefined);
  assert.equal(proxyInjectionProblem({ type: 'node' }, { socksPort: 1080, credentials }), undefined);
});

test('Devlane\'s own JDWP attach runs no program and gets no proxy', () => {
  const cfg = { type: 'devlane', request: 'attach', port: 5005 };
  assert.equal(runsProgram(cfg), false);
  assert.equal(injectProxy(cfg, { socksPort: 1080, credentials: { username: 'u', password: 'p' } }), cfg);
  assert.equal(runsProgram({ type: 'node' }), true);
});

test('the injection\'s log line says authentication is on without the credentials', () => {
  const credentials = newProxyCredentials();
  const line = describeInjection({ type: 'node', name: 'api' }, { socksPort: 1080, httpPort: 1081, credentials });
  assert.equal(line, 'adding the tunnel proxy (SOCKS 127.0.0.1:1080, HTTP 127.0.0.1:1081; authentication on) to the node session "api"');
  assert.ok(!line.includes(credentials.password) && !line.includes(credentials.username));
  assert.match(describeInjection({ type: 'go', name: 'x' }, { socksPort: 1 }), /authentication off/);
});
