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
