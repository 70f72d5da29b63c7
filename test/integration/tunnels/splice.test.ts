import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { ConnectionTable } from '../../../dataplane/proxy/connections';
import { directDialer } from '../../../dataplane/proxy/directDialer';
import { ProxyServer } from '../../../dataplane/proxy/proxyServer';
import { silentLogger } from '../../../extension/core/log';
import { waitFor } from '../../support/wait';
import { readStalling, socksConnect } from './support/clients';

// How the proxy moves bytes once a connection is open (half-close, back-pressure, byte counts),
// over a plain TCP dialer to real local servers.
const table = new ConnectionTable();
let proxy: ProxyServer;
let echo: net.Server;
let digest: net.Server;

const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(async () => {
  // Echoes everything and ends its side when the client has ended its own.
  echo = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  // Reads until the client half-closes, then answers with the length and hash of what it got.
  digest = net.createServer({ allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    s.on('error', () => s.destroy());
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      s.end(`${all.length} ${sha(all)}`);
    });
  });
  for (const s of [echo, digest]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  proxy = new ProxyServer({ protocol: 'socks5', port: 0, dial: directDialer(), table, log: silentLogger, handshakeTimeoutMs: 5_000 });
  await proxy.listen();
});

after(async () => {
  await proxy?.close();
  echo?.close();
  digest?.close();
});

async function readAll(s: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('half-close: a client that ends its sending side still reads the whole answer', { timeout: 60_000 }, async () => {
  const { reply, socket } = await socksConnect(proxy.port, '127.0.0.1', portOf(digest));
  assert.equal(reply, 0);
  const body = randomBytes(3 * 1024 * 1024 + 7);
  const answer = readAll(socket);
  socket.end(body);
  assert.equal((await answer).toString(), `${body.length} ${sha(body)}`);
});

test('32 MiB echoed through a reader that keeps stalling: nothing lost or reordered, counted both ways', { timeout: 120_000 }, async () => {
  const { reply, socket } = await socksConnect(proxy.port, '127.0.0.1', portOf(echo));
  assert.equal(reply, 0);
  const sent = randomBytes(32 * 1024 * 1024);
  // Stall at every MiB so the proxy's writes to us back up and it must pause the far side.
  const received = readStalling(socket);
  // Written with back-pressure, in pieces, then half-closed: the echo server ends after the last byte.
  for (let at = 0; at < sent.length; at += 256 * 1024) {
    if (!socket.write(sent.subarray(at, at + 256 * 1024))) await new Promise((r) => socket.once('drain', r));
  }
  socket.end();
  const back = await received;
  assert.equal(back.length, sent.length);
  assert.equal(sha(back), sha(sent));
  const closed = await waitFor('the connection to be recorded as closed', () => table.list().recent.find((c) => c.target === `127.0.0.1:${portOf(echo)}`));
  assert.equal(closed.error, undefined);
  // The counters are the client socket's, so they include the SOCKS handshake: greeting (3 bytes)
  // and CONNECT for the 9-character name 127.0.0.1 (16) up, method choice (2) and reply (10) down.
  assert.equal(closed.bytesUp, sent.length + 3 + 16);
  assert.equal(closed.bytesDown, sent.length + 2 + 10);
});
