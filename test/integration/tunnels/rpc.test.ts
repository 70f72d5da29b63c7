import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { RpcPeer } from '../../../dataplane/ipc/rpc';
import { DevlaneError } from '../../../extension/core/errors';

async function pair(): Promise<{ a: RpcPeer; b: RpcPeer; raw: net.Socket; cleanup: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-rpc-'));
  const sock = path.join(dir, 's');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const raw = net.connect(sock);
  const b = new RpcPeer(await accepted);
  const a = new RpcPeer(raw);
  return { a, b, raw, cleanup: () => (a.close(), b.close(), server.close(), fs.rmSync(dir, { recursive: true, force: true })) };
}

test('requests both ways, errors keep their reason, events arrive', async () => {
  const { a, b, cleanup } = await pair();
  try {
    b.handle('add', (p) => (p as { x: number; y: number }).x + (p as { x: number; y: number }).y);
    b.handle('fail', () => {
      throw new DevlaneError('port-in-use', 'taken', { detail: 'port 1080' });
    });
    a.handle('ask', async () => 'yes');
    assert.equal(await a.request('add', { x: 2, y: 3 }), 5);
    assert.equal(await b.request('ask'), 'yes');
    await assert.rejects(a.request('fail'), (e: unknown) => e instanceof DevlaneError && e.reason === 'port-in-use' && e.detail === 'port 1080');
    await assert.rejects(a.request('nope'), (e: unknown) => e instanceof DevlaneError && e.reason === 'internal');
    const got = new Promise<unknown>((r) => a.onEvent((name, data) => r([name, data])));
    b.notify('tunnel.state', { id: 't', state: 'on' });
    assert.deepEqual(await got, ['tunnel.state', { id: 't', state: 'on' }]);
  } finally {
    cleanup();
  }
});

test('a request times out, and pending requests fail when the stream closes', async () => {
  const { a, b, cleanup } = await pair();
  try {
    b.handle('never', () => new Promise(() => {}));
    await assert.rejects(a.request('never', {}, 200), (e: unknown) => e instanceof DevlaneError && e.reason === 'timeout');
    const pending = a.request('never');
    const closed = new Promise<void>((r) => a.onClose(r));
    b.close();
    await closed;
    await assert.rejects(pending, (e: unknown) => e instanceof DevlaneError && e.reason === 'tunnel-down');
    await assert.rejects(a.request('never'), (e: unknown) => e instanceof DevlaneError && e.reason === 'tunnel-down');
  } finally {
    cleanup();
  }
});

test('garbage or an endless line from the peer closes the stream instead of buffering', async () => {
  const { b, raw, cleanup } = await pair();
  try {
    const closed = new Promise<void>((r) => b.onClose(r));
    raw.write(Buffer.alloc(5 * 1024 * 1024, 0x61));
    await closed;
    assert.ok(b.isClosed);
  } finally {
    cleanup();
  }
});
