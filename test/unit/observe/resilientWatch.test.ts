import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../../extension/core/log';
import { DevlaneError } from '../../../extension/core/errors';
import { ResilientWatch, type ListWatchSource, type WatchChange } from '../../../extension/core/observe/resilientWatch';
import { waitFor } from '../../support/wait';

type Obj = { metadata: { uid: string; resourceVersion: string } };
const obj = (uid: string, rv: string): Obj => ({ metadata: { uid, resourceVersion: rv } });

/** A scripted source: each watch call takes the next script entry. Pure logic, so a fake is fine. */
function scripted(script: ((onEvent: (t: string, o: unknown) => void, onDone: (e: unknown) => void) => void)[]) {
  const calls: string[] = [];
  let lists = 0;
  const source: ListWatchSource<Obj> = {
    async list() {
      lists++;
      calls.push(`list`);
      return { items: [obj('a', `${lists}0`)], resourceVersion: `${lists}0` };
    },
    async watch(rv, onEvent, onDone) {
      calls.push(`watch@${rv}`);
      const step = script.shift();
      if (step) queueMicrotask(() => step(onEvent, onDone));
      return { abort() {} };
    },
  };
  return { source, calls };
}

test('re-watches from the last resourceVersion after a clean close, re-lists after 410', async () => {
  const { source, calls } = scripted([
    (ev, done) => {
      ev('ADDED', obj('b', '11'));
      ev('BOOKMARK', obj('', '15'));
      done(null);
    },
    (ev, done) => {
      ev('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
      done(null);
    },
    (_ev, done) => done(Object.assign(new Error('Gone'), { statusCode: 410 })),
    () => {},
  ]);
  const w = new ResilientWatch(source, { describe: 't', log: silentLogger, minDelayMs: 1 });
  const changes: WatchChange<Obj>[] = [];
  w.onDidChange((c) => changes.push(c));
  w.start();
  try {
    await waitFor('four watches', () => calls.filter((c) => c.startsWith('watch')).length >= 4 || undefined, { timeoutMs: 10_000, intervalMs: 5 });
    assert.deepEqual(calls, ['list', 'watch@10', 'watch@15', 'list', 'watch@20', 'list', 'watch@30']);
    assert.deepEqual(changes.map((c) => c.type), ['sync', 'upsert', 'sync', 'sync']);
    assert.equal(w.stats.gone, 2);
  } finally {
    w.dispose();
  }
});

test('a forbidden watch stops with the error it is given; other errors retry', async () => {
  const { source, calls } = scripted([(_e, done) => done(Object.assign(new Error('boom'), { statusCode: 500 })), (_e, done) => done(Object.assign(new Error('Forbidden'), { statusCode: 403 }))]);
  const w = new ResilientWatch(source, {
    describe: 't',
    log: silentLogger,
    minDelayMs: 1,
    fatal: (e) => ((e as { statusCode?: number }).statusCode === 403 ? new DevlaneError('rbac-forbidden', 'no watch') : undefined),
  });
  w.start();
  try {
    const failed = await waitFor('failed state', () => (w.state.state === 'failed' ? w.state : undefined), { timeoutMs: 10_000, intervalMs: 5 });
    assert.equal(failed.state === 'failed' && failed.error.reason, 'rbac-forbidden');
    assert.deepEqual(calls, ['list', 'watch@10', 'watch@10']);
  } finally {
    w.dispose();
  }
});
