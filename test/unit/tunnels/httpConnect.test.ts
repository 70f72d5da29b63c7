import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { originRequestHead, parseAuthority, parseProxyRequest } from '../../../dataplane/protocol/httpConnect';

test('CONNECT with host, port and basic credentials', () => {
  const head = 'CONNECT orders.shop:8443 HTTP/1.1\r\nHost: orders.shop:8443\r\nProxy-Authorization: Basic ' + Buffer.from('al:se:cret').toString('base64') + '\r\n\r\n';
  const r = parseProxyRequest(Buffer.from(head + 'early'));
  assert.equal(r.kind, 'ok');
  if (r.kind !== 'ok') return;
  assert.deepEqual(r.value.target, { host: 'orders.shop', port: 8443 });
  assert.deepEqual(r.value.credentials, { username: 'al', password: 'se:cret' });
  assert.equal(r.consumed, head.length);
  for (let i = 0; i < head.length; i++) assert.equal(parseProxyRequest(Buffer.from(head.slice(0, i))).kind, 'more');
});

test('CONNECT to an IPv6 literal', () => {
  const r = parseProxyRequest(Buffer.from('CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n'));
  assert.equal(r.kind, 'ok');
  if (r.kind === 'ok') assert.deepEqual(r.value.target, { host: '2001:db8::1', port: 443 });
});

test('malformed requests are errors, not exceptions', () => {
  for (const bad of ['CONNECT nohost HTTP/1.1\r\n\r\n', 'CONNECT a:99999 HTTP/1.1\r\n\r\n', 'GET /x HTTP/1.1\r\n\r\n', 'CONNECT a:1 HTTP/2\r\n\r\n', 'CONNECT a:1 HTTP/1.1\r\nbad header\r\n\r\n', 'C ONNECT a:1 HTTP/1.1 x\r\n\r\n']) {
    assert.equal(parseProxyRequest(Buffer.from(bad)).kind, 'error', bad);
  }
  assert.equal(parseProxyRequest(Buffer.alloc(20_000, 65)).kind, 'error');
});

test('absolute-form request is rewritten to origin form', () => {
  const r = parseProxyRequest(Buffer.from('GET http://svc.local/a?b=1 HTTP/1.1\r\nHost: svc.local\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n'));
  assert.equal(r.kind, 'ok');
  if (r.kind !== 'ok') return;
  assert.deepEqual(r.value.target, { host: 'svc.local', port: 80 });
  assert.equal(originRequestHead(r.value).toString(), 'GET /a?b=1 HTTP/1.1\r\nHost: svc.local\r\nAccept: */*\r\nConnection: close\r\n\r\n');
});

test('authority parsing', () => {
  assert.deepEqual(parseAuthority('h:1'), { host: 'h', port: 1 });
  assert.deepEqual(parseAuthority('h', 80), { host: 'h', port: 80 });
  assert.equal(parseAuthority('h'), undefined);
  assert.equal(parseAuthority('[::1'), undefined);
  assert.equal(parseAuthority('a b:1'), undefined);
});
