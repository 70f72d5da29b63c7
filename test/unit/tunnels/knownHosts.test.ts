import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { checkHostKey, fingerprint, globMatch, hostFieldMatches, keyTypeOf, knownHostsLine, parseKnownHosts, preferKnownAlgorithms } from '../../../dataplane/ssh/knownHosts';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
}
const ed1 = blob('ssh-ed25519', 'one');
const ed2 = blob('ssh-ed25519', 'two');
const ec = blob('ecdsa-sha2-nistp256', 'three');

function hashed(name: string, salt: Buffer): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

test('plain, bracketed and wildcard host fields', () => {
  assert.ok(hostFieldMatches('bastion,10.0.0.1', 'bastion'));
  assert.ok(hostFieldMatches('[bastion]:2222', '[bastion]:2222'));
  assert.ok(!hostFieldMatches('bastion', '[bastion]:2222'));
  assert.ok(hostFieldMatches('*.corp,!evil.corp', 'a.corp'));
  assert.ok(!hostFieldMatches('*.corp,!evil.corp', 'evil.corp'));
  assert.ok(globMatch('b?st*n', 'BASTION'));
  assert.ok(!globMatch('b*x', 'bastion'));
});

test('hashed entries match by HMAC-SHA1 of the name', () => {
  const salt = Buffer.from('0123456789abcdefghij');
  assert.ok(hostFieldMatches(hashed('[10.1.2.3]:2222', salt), '[10.1.2.3]:2222'));
  assert.ok(!hostFieldMatches(hashed('[10.1.2.3]:2222', salt), '10.1.2.3'));
  const line = knownHostsLine('10.1.2.3', 2222, ed1, true, salt);
  const entries = parseKnownHosts(`# comment\n${line}\n`);
  assert.deepEqual(checkHostKey(entries, '10.1.2.3', 2222, ed1), { status: 'known', line: 2 });
});

test('verdicts: known, unknown, changed, revoked', () => {
  const text = [`bastion ${keyTypeOf(ed1)} ${ed1.toString('base64')}`, `@revoked * ${keyTypeOf(ec)} ${ec.toString('base64')}`, 'garbage', `other ssh-ed25519 ${ed2.toString('base64')}`].join('\n');
  const e = parseKnownHosts(text);
  assert.equal(e.length, 3);
  assert.equal(checkHostKey(e, 'bastion', 22, ed1).status, 'known');
  assert.deepEqual(checkHostKey(e, 'bastion', 22, ed2), { status: 'changed', line: 1, knownTypes: ['ssh-ed25519'] });
  assert.deepEqual(checkHostKey(e, 'new', 22, ed1), { status: 'unknown', knownTypes: [] });
  assert.equal(checkHostKey(e, 'bastion', 22, ec).status, 'revoked');
});

test('fingerprint is SHA256 base64 without padding', () => {
  assert.match(fingerprint(ed1), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

test('known key types are preferred', () => {
  assert.deepEqual(preferKnownAlgorithms(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256'], ['ssh-rsa']), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-ed25519', 'ecdsa-sha2-nistp256']);
});
