import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeInjection, injectProxy, JAVA_AGENT_ENV, JAVA_TUNNEL_ENV, javaAgentEnvValue, javaProxyArgs, javaTunnelEnvValue, newProxyCredentials, proxyEnvironment, runsProgram } from '../../../extension/core/tunnels/proxyEnv';

const JAR = '/ext/dist/devlane-agent.jar';

test('proxy environment in both cases, keeping the user\'s own values and loopback direct', () => {
  const env = proxyEnvironment({ socksPort: 1080, httpPort: 8118 }, { https_proxy: 'http://corp:3128', NO_PROXY: 'internal.corp' });
  assert.equal(env.HTTP_PROXY, 'http://127.0.0.1:8118');
  assert.equal(env.http_proxy, 'http://127.0.0.1:8118');
  assert.equal(env.HTTPS_PROXY, 'http://corp:3128');
  assert.equal(env.ALL_PROXY, 'socks5h://127.0.0.1:1080');
  assert.equal(env.NO_PROXY, 'internal.corp,localhost,127.0.0.1,::1,.localhost');
  assert.equal(proxyEnvironment({ socksPort: 1080 }).HTTP_PROXY, 'socks5h://127.0.0.1:1080');
});

test('Java gets the agent and the SOCKS system properties appended to vmArgs (string or array), once, and the agent\'s tunnel endpoint in env', () => {
  const s = injectProxy({ type: 'java', name: 'App', vmArgs: '-Xmx512m', env: { FOO: '1' } }, { socksPort: 1080 }, JAR);
  assert.equal(s.vmArgs, `-Xmx512m -javaagent:${JAR} ${javaProxyArgs({ socksPort: 1080 }).join(' ')}`);
  assert.deepEqual(s.env, { FOO: '1', [JAVA_TUNNEL_ENV]: 'host=127.0.0.1&port=1080&domains=cluster.local%2Csvc' });
  assert.deepEqual(Object.fromEntries(new URLSearchParams(javaTunnelEnvValue({ socksPort: 1080 }, ['corp.internal']))), { host: '127.0.0.1', port: '1080', domains: 'corp.internal' });
  // The cluster's own domains (devlane.tunnel.clusterDomains) reach the agent.
  const own = injectProxy({ type: 'java' }, { socksPort: 1080 }, JAR, ['cluster.internal', 'svc']);
  assert.equal(new URLSearchParams(String(own.env?.[JAVA_TUNNEL_ENV])).get('domains'), 'cluster.internal,svc');
  const a = injectProxy({ type: 'java', vmArgs: ['-ea'] }, { socksPort: 1080 }, JAR);
  assert.deepEqual(a.vmArgs, ['-ea', `-javaagent:${JAR}`, '-DsocksProxyHost=127.0.0.1', '-DsocksProxyPort=1080', '-DsocksNonProxyHosts=localhost|127.*|[::1]']);
  const mine = { type: 'java', vmArgs: '-DsocksProxyHost=other' };
  assert.equal(injectProxy(mine, { socksPort: 1080 }, JAR), mine);
});

test('Node, Python and Go get env without losing theirs; the input is not modified', () => {
  for (const type of ['node', 'pwa-node', 'debugpy', 'python', 'go']) {
    const cfg = { type, env: { FOO: '1' } };
    const out = injectProxy(cfg, { socksPort: 1, httpPort: 2 }, JAR);
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
  const node = injectProxy({ type: 'node', name: 'api' }, { socksPort: 1080, httpPort: 1081, credentials }, JAR);
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

test('with authentication on, a Java session gets the agent and the SOCKS properties in vmArgs and the credentials in env only', () => {
  const credentials = { username: 'devlane-u', password: 'p&a=s s+w%rd' };
  const ep = { socksPort: 1080, credentials };
  const cfg = { type: 'java', name: 'Orders', vmArgs: '-Xmx1g', env: { FOO: '1', [JAVA_AGENT_ENV]: 'stale' } };
  const out = injectProxy(cfg, ep, JAR);
  assert.equal(out.vmArgs, `-Xmx1g -javaagent:${JAR} ${javaProxyArgs(ep).join(' ')}`);
  // The user's env is kept; the agent's variable is the tunnel's.
  assert.deepEqual(out.env, { FOO: '1', [JAVA_AGENT_ENV]: javaAgentEnvValue(ep), [JAVA_TUNNEL_ENV]: javaTunnelEnvValue(ep) });
  assert.ok(!String(out.vmArgs).includes(credentials.password) && !String(out.vmArgs).includes(credentials.username), 'nothing secret on the command line');
  assert.deepEqual(cfg, { type: 'java', name: 'Orders', vmArgs: '-Xmx1g', env: { FOO: '1', [JAVA_AGENT_ENV]: 'stale' } }, 'the input is not modified');
  // The value the agent decodes (with java.net.URLDecoder, which reads URLSearchParams' form encoding).
  assert.deepEqual(Object.fromEntries(new URLSearchParams(javaAgentEnvValue(ep))), { host: '127.0.0.1', port: '1080', username: 'devlane-u', password: 'p&a=s s+w%rd' });
  // vmArgs as an array; a folder with a space is quoted only in the string form.
  const spaced = '/home/a b/dist/devlane-agent.jar';
  assert.deepEqual(injectProxy({ type: 'java', vmArgs: ['-ea'] }, ep, spaced).vmArgs, ['-ea', `-javaagent:${spaced}`, ...javaProxyArgs(ep)]);
  assert.equal(injectProxy({ type: 'java' }, ep, spaced).vmArgs, `"-javaagent:${spaced}" ${javaProxyArgs(ep).join(' ')}`);
  assert.deepEqual(injectProxy({ type: 'java' }, ep, JAR).env, { [JAVA_AGENT_ENV]: javaAgentEnvValue(ep), [JAVA_TUNNEL_ENV]: javaTunnelEnvValue(ep) });
  // Without authentication: the agent, but no credentials (a stale value is dropped).
  const plain = injectProxy({ type: 'java', vmArgs: '-Xmx1g', env: { FOO: '1', [JAVA_AGENT_ENV]: 'stale' } }, { socksPort: 1080 }, JAR);
  assert.deepEqual(plain, { type: 'java', vmArgs: `-Xmx1g -javaagent:${JAR} ${javaProxyArgs({ socksPort: 1080 }).join(' ')}`, env: { FOO: '1', [JAVA_TUNNEL_ENV]: javaTunnelEnvValue({ socksPort: 1080 }) } });
  // A session with its own SOCKS proxy is left alone, credentials and all.
  const mine = { type: 'java', vmArgs: '-DsocksProxyHost=corp' };
  assert.equal(injectProxy(mine, ep, JAR), mine);
  // The agent is for Java only.
  assert.equal(injectProxy({ type: 'node' }, ep, JAR).env?.[JAVA_AGENT_ENV], undefined);
});

test('Devlane\'s own JDWP attach runs no program and gets no proxy', () => {
  const cfg = { type: 'devlane', request: 'attach', port: 5005 };
  assert.equal(runsProgram(cfg), false);
  assert.equal(injectProxy(cfg, { socksPort: 1080, credentials: { username: 'u', password: 'p' } }, JAR), cfg);
  assert.equal(runsProgram({ type: 'node' }), true);
});

test('the injection\'s log line says authentication is on without the credentials', () => {
  const credentials = newProxyCredentials();
  const line = describeInjection({ type: 'node', name: 'api' }, { socksPort: 1080, httpPort: 1081, credentials });
  assert.equal(line, 'adding the tunnel proxy (SOCKS 127.0.0.1:1080, HTTP 127.0.0.1:1081; authentication on) to the node session "api"');
  assert.ok(!line.includes(credentials.password) && !line.includes(credentials.username));
  assert.match(describeInjection({ type: 'go', name: 'x' }, { socksPort: 1 }), /authentication off/);
  const java = describeInjection({ type: 'java', name: 'orders' }, { socksPort: 1080, credentials });
  assert.equal(java, 'adding the tunnel proxy (SOCKS 127.0.0.1:1080; authentication on, with the Devlane Java agent for cluster names and NIO and the credentials) to the java session "orders"');
  assert.ok(!java.includes(credentials.password) && !java.includes(credentials.username));
});
