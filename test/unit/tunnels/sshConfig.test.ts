import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseDestination, parseSshConfig, resolveChain, resolveHost, splitArgs } from '../../../dataplane/ssh/sshConfig';

const env = { home: '/home/dev', localUser: 'dev' };

const config = parseSshConfig(`
# global defaults come last in OpenSSH files, but first value wins
Host bastion
  HostName 203.0.113.10
  User ops
  Port 2222
  IdentityFile ~/.ssh/bastion_ed25519
  IdentityFile "%d/.ssh/second key"

Host inner-*  !inner-skip
  ProxyJump bastion
  User app

Host db
  HostName db.%h.internal
  ProxyJump jump1,ops2@jump2:2200

Host jump1
  ProxyJump bastion

Match host foo exec "true"
  User ignored

Host *
  User=fallback
  IdentitiesOnly yes
`);

test('splitArgs honours quotes', () => {
  assert.deepEqual(splitArgs('a "b c" d'), ['a', 'b c', 'd']);
  assert.equal(splitArgs('"open'), undefined);
});

test('first value wins, IdentityFile accumulates and expands', () => {
  const h = resolveHost(config, 'bastion', env);
  assert.equal(h.hostName, '203.0.113.10');
  assert.equal(h.user, 'ops');
  assert.equal(h.port, 2222);
  assert.deepEqual(h.identityFiles, ['/home/dev/.ssh/bastion_ed25519', '/home/dev/.ssh/second key']);
  assert.equal(h.identitiesOnly, true);
  assert.equal(resolveHost(config, 'unknown', env).user, 'fallback');
  assert.deepEqual(resolveHost(config, 'unknown', env).identityFiles, ['/home/dev/.ssh/id_ed25519', '/home/dev/.ssh/id_ecdsa', '/home/dev/.ssh/id_rsa']);
  assert.deepEqual(resolveHost(parseSshConfig('IdentityFile none'), 'x', env).identityFiles, []);
  assert.equal(resolveHost(config, 'inner-skip', env).user, 'fallback');
  assert.ok(config.warnings.some((w) => w.includes('Match')));
});

test('ProxyJump chains resolve jump hosts through the config', () => {
  const chain = resolveChain(config, 'inner-api', env);
  assert.deepEqual(chain.map((h) => `${h.user}@${h.hostName}:${h.port}`), ['ops@203.0.113.10:2222', 'app@inner-api:22']);
  const db = resolveChain(config, 'db', env);
  assert.deepEqual(db.map((h) => `${h.user}@${h.hostName}:${h.port}`), ['ops@203.0.113.10:2222', 'fallback@jump1:22', 'ops2@jump2:2200', 'fallback@db.db.internal:22']);
});

test('a ProxyJump loop is reported', () => {
  const loop = parseSshConfig('Host a\n ProxyJump b\nHost b\n ProxyJump a\n');
  assert.throws(() => resolveChain(loop, 'a', env), /too deep/);
});

test('destinations', () => {
  assert.deepEqual(parseDestination('u@h:2'), { host: 'h', user: 'u', port: 2 });
  assert.deepEqual(parseDestination('ssh://[::1]:22'), { host: '::1', port: 22 });
  assert.equal(parseDestination('h:0'), undefined);
});
