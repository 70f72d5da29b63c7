import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { ConnectionTable } from '../../../dataplane/proxy/connections';
import { directDialer } from '../../../dataplane/proxy/directDialer';
import { ProxyServer } from '../../../dataplane/proxy/proxyServer';
import { silentLogger } from '../../../extension/core/log';
import { connectProxyGet, socksConnect, socksGet } from './support/clients';

// The proxies over a plain TCP dialer against a real local HTTP server: protocol behaviour without SSH.
let origin: http.Server;
let originPort: number;
const table = new ConnectionTable();
const creds = { username: 'dev', password: 's3cret' };
let open: ProxyServer;
let authed: ProxyServer;
let httpProxy: ProxyServer;
let httpAuthed: ProxyServer;

before(async () => {
  origin = http.createServer((req, res) => res.end(`origin ${req.method} ${req.url} host=${req.headers.host} proxyauth=${req.headers['proxy-authorization'] ?? 'none'}`));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originPort = (origin.address() as net.AddressInfo).port;
  const base = { port: 0, dial: directDialer(), table, log: silentLogger, handshakeTimeoutMs: 2_000 };
  open = new ProxyServer({ ...base, protocol: 'socks5' });
  authed = new ProxyServer({ ...base, protocol: 'socks5', credentials: creds });
  httpProxy = new ProxyServer({ ...base, protocol: 'http' });
  httpAuthed = new ProxyServer({ ...base, protocol: 'http', credentials: creds });
  for (const p of [open, authed, httpProxy, httpAuthed]) await p.listen();
});

after(async () => {
  for (const p of [open, authed, httpProxy, httpAuthed]) await p?.close();
  origin?.close();
});

test('SOCKS5 without and with username/password', async () => {
  assert.match(await socksGet(open.port, '127.0.0.1', originPort, '/a'), /origin GET \/a/);
  const noAuth = await socksConnect(authed.port, '127.0.0.1', originPort);
  noAuth.socket.destroy();
  assert.equal(noAuth.reply, 0xff);
  const wrong = await socksConnect(authed.port, '127.0.0.1', originPort, { username: 'dev', password: 'nope' });
  wrong.socket.destroy();
  assert.equal(wrong.reply, 0xfe);
  const ok = await socksConnect(authed.port, 'localhost', originPort, creds);
  ok.socket.destroy();
  assert.equal(ok.reply, 0);
});

test('HTTP proxy: CONNECT, absolute-form GET with rewriting, 407 without credentials', async () => {
  const c = await connectProxyGet(httpProxy.port, '127.0.0.1', originPort);
  assert.match(c.body ?? '', /origin GET \//);
  const res = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: httpProxy.port, method: 'GET', path: `http://127.0.0.1:${originPort}/x?y=1`, headers: { 'proxy-authorization': 'Basic Zm9vOmJhcg==' } }, (r) => {
      let body = '';
      r.on('data', (d: Buffer) => (body += d.toString()));
      r.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
  assert.match(res, /origin GET \/x\?y=1 host=127\.0\.0\.1:\d+ proxyauth=none/);
  const denied = await connectProxyGet(httpAuthed.port, '127.0.0.1', originPort);
  assert.match(denied.status, / 407 /);
});

test('a refused target is reported, and the table keeps statistics', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const r = await socksConnect(open.port, '127.0.0.1', port);
  r.socket.destroy();
  assert.equal(r.reply, 5);
  const c = await connectProxyGet(httpProxy.port, '127.0.0.1', port);
  assert.match(c.status, / 502 /);
  const { recent } = table.list();
  assert.ok(recent.some((s) => s.error && s.target === `127.0.0.1:${port}`));
  assert.ok(recent.some((s) => s.bytesDown > 0 && s.durationMs >= 0 && s.closedAt !== undefined));
});

test('garbage and truncated handshakes from real sockets never take the server down', async () => {
  const deadline = Date.now() + 4_000;
  let n = 0;
  while (Date.now() < deadline && n < 300) {
    n++;
    for (const p of [open, httpProxy]) {
      const s = net.connect({ host: '127.0.0.1', port: p.port });
      s.on('error', () => {});
      s.write(randomBytes(1 + (n % 40)));
      if (n % 2) s.end();
      else s.destroy();
    }
  }
  assert.match(await socksGet(open.port, '127.0.0.1', originPort), /origin GET/);
  assert.match((await connectProxyGet(httpProxy.port, '127.0.0.1', originPort)).body ?? '', /origin GET/);
});
