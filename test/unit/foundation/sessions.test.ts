import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SessionRegistry, type RegistryChange } from '../../../extension/core/sessions/registry';
import type { Session, SessionStatus } from '../../../extension/core/sessions/session';
import { Emitter } from '../../../extension/core/events';
import { silentLogger } from '../../../extension/core/log';

function session(id: string, onDispose: () => Promise<void>): Session & { setStatus(s: SessionStatus): void } {
  const em = new Emitter<SessionStatus>();
  let status: SessionStatus = { state: 'running' };
  return {
    id,
    kind: 'forward',
    label: id,
    get status() {
      return status;
    },
    onDidChangeStatus: em.event,
    dispose: onDispose,
    setStatus(s) {
      status = s;
      em.fire(s);
    },
  };
}

test('the registry reports changes and ends every session, even a stuck one', async () => {
  const reg = new SessionRegistry(silentLogger, 200);
  const seen: string[] = [];
  reg.onDidChange((c: RegistryChange) => seen.push(`${c.type}:${c.session.id}`));
  let ended = 0;
  const a = reg.add(session('a', async () => void ended++));
  reg.add(session('b', () => new Promise<void>(() => undefined))); // never ends
  assert.throws(() => reg.add(session('a', async () => undefined)));
  a.setStatus({ state: 'degraded', detail: 'slow' });
  assert.deepEqual(reg.list('forward').map((s) => s.id), ['a', 'b']);
  await reg.endAll();
  assert.equal(ended, 1);
  assert.deepEqual(reg.list(), []);
  assert.deepEqual(seen, ['added:a', 'added:b', 'changed:a', 'removed:a', 'removed:b']);
});

test('a session carried by another ends before its carrier, on end() and on endAll()', async () => {
  const reg = new SessionRegistry(silentLogger, 1_000);
  const order: string[] = [];
  // The carrier is added first so a plain parallel end would start it first.
  const ender = (id: string) => async () => {
    await new Promise<void>((r) => setImmediate(r));
    order.push(id);
  };
  reg.add(session('tunnel', ender('tunnel')));
  reg.add({ ...session('registration', ender('registration')), carriedBy: 'tunnel' });
  reg.add(session('other', ender('other')));
  await reg.end('tunnel');
  assert.deepEqual(order, ['registration', 'tunnel']);
  assert.deepEqual(reg.list().map((s) => s.id), ['other']);

  order.length = 0;
  reg.add(session('tunnel2', ender('tunnel2')));
  reg.add({ ...session('reg2', ender('reg2')), carriedBy: 'tunnel2' });
  reg.add({ ...session('orphan', ender('orphan')), carriedBy: 'gone' });
  await reg.endAll();
  assert.ok(order.indexOf('reg2') < order.indexOf('tunnel2'), order.join(','));
  assert.deepEqual(new Set(order), new Set(['other', 'tunnel2', 'reg2', 'orphan']));
  assert.deepEqual(reg.list(), []);
});
