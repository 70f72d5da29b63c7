import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as socks from '../../../dataplane/protocol/socks5';

test('greeting: methods, truncation and wrong version', () => {
  const g = Buffer.from([5, 2, 0, 2]);
  assert.deepEqual(socks.parseGreeting(g), { kind: 'ok', value: { methods: [0, 2] }, consumed: 4 });
  for (let i = 0; i < g.length; i++) assert.equal(socks.parseGreeting(g.subarray(0, i)).kind, 'more');
  assert.equal(socks.parseGreeting(Buffer.from([4, 1, 0])).kind, 'error');
  assert.equal(socks.parseGreeting(Buffer.from([5, 0])).kind, 'error');
});

test('username/password sub-negotiation', () => {
  const pw = Buffer.from('päss');
  const b = Buffer.from([1, 3, ...Buffer.from('bob'), pw.length, ...pw]);
  const r = socks.parseUserPass(b);
  assert.equal(r.kind, 'ok');
  if (r.kind === 'ok') {
    assert.equal(r.value.username, 'bob');
    assert.equal(r.value.password, 'päss');
    assert.equal(r.consumed, b.length);
  }
  for (let i = 0; i < b.length; i++) assert.equal(socks.parseUserPass(b.subarray(0, i)).kind, 'more');
  assert.equal(socks.parseUserPass(Buffer.from([2, 0, 0])).kind, 'error');
});

test('request with a domain name keeps the name unresolved', () => {
  const b = socks.encodeConnect({ host: 'inventory.shop.svc.cluster.local', port: 8080 });
  const r = socks.parseRequest(Buffer.concat([b, Buffer.from('GET')]));
  assert.deepEqual(r, { kind: 'ok', value: { command: 1, addressType: socks.ATYP_DOMAIN, target: { host: 'inventory.shop.svc.cluster.local', port: 8080 } }, consumed: b.length });
  for (let i = 0; i < b.length; i++) assert.equal(socks.parseRequest(b.subarray(0, i)).kind, 'more');
});

test('request with IPv4 and IPv6 addresses', () => {
  const v4 = Buffer.from([5, 1, 0, 1, 10, 0, 0, 7, 0x1f, 0x90]);
  assert.deepEqual(socks.parseRequest(v4), { kind: 'ok', value: { command: 1, addressType: 1, target: { host: '10.0.0.7', port: 8080 } }, consumed: 10 });
  const v6 = Buffer.from([5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80]);
  const r = socks.parseRequest(v6);
  assert.equal(r.kind, 'ok');
  if (r.kind === 'ok') assert.equal(r.value.target.host, '2001:db8::1');
  assert.equal(socks.parseRequest(Buffer.from([5, 1, 0, 9, 0, 0])).kind, 'error');
  assert.equal(socks.parseRequest(Buffer.from([5, 1, 0, 3, 0, 0, 80])).kind, 'error');
});

test('IPv6 formatting follows RFC 5952', () => {
  const f = (groups: number[]) => socks.formatIpv6(Buffer.from(groups.flatMap((g) => [g >> 8, g & 0xff])));
  assert.equal(f([0, 0, 0, 0, 0, 0, 0, 1]), '::1');
  assert.equal(f([0, 0, 0, 0, 0, 0, 0, 0]), '::');
  assert.equal(f([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1]), '2001:db8:0:1::1');
  assert.equal(f([0x2001, 0xdb8, 1, 2, 3, 4, 5, 6]), '2001:db8:1:2:3:4:5:6');
  assert.equal(f([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 'fe80::');
});

test('replies carry the code', () => {
  assert.deepEqual([...socks.encodeReply(socks.Reply.ConnectionRefused)], [5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
});
