import { mock, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { OutageWatch, type TunnelAlert } from '../../../extension/core/tunnels/outageWatch';

/** A watch on a mocked clock: `advance` moves both Date-like time and timers. */
function watch(alertAfterMs = 60_000) {
  mock.timers.enable({ apis: ['setTimeout'] });
  let now = 1_000_000;
  const alerts: TunnelAlert[] = [];
  const w = new OutageWatch(() => alertAfterMs, (a) => alerts.push(a), () => now);
  return {
    w,
    alerts,
    advance(ms: number, clockMs = ms) {
      now += clockMs;
      mock.timers.tick(ms);
    },
    [Symbol.dispose]() {
      w.dispose();
      mock.timers.reset();
    },
  };
}

test('a short outage stays in the status bar: no alert either way', () => {
  using t = watch();
  t.w.update({ state: 'connecting' });
  t.w.update({ state: 'on' });
  t.w.update({ state: 'degraded', detail: 'connection lost; reconnecting' });
  t.advance(59_000);
  t.w.update({ state: 'on' });
  t.advance(120_000);
  assert.deepEqual(t.alerts, []);
});

test('down for the alert delay: one alert with what the last attempt met, then one when it is back', () => {
  using t = watch();
  t.w.update({ state: 'on' });
  t.w.update({ state: 'degraded', detail: 'connection lost; reconnecting' });
  t.advance(30_000);
  t.w.update({ state: 'degraded', detail: 'reconnecting (attempt 7): connect ECONNREFUSED' });
  t.advance(30_000);
  assert.deepEqual(t.alerts, [{ kind: 'down', forMs: 60_000, detail: 'reconnecting (attempt 7): connect ECONNREFUSED' }]);
  t.advance(600_000);
  assert.equal(t.alerts.length, 1, 'said once per outage');
  t.w.update({ state: 'on' });
  assert.deepEqual(t.alerts[1], { kind: 'back', afterMs: 660_000 });
  // A later outage is a new one.
  t.w.update({ state: 'degraded' });
  t.advance(60_000);
  assert.equal(t.alerts.length, 3);
  assert.equal(t.alerts[2]!.kind, 'down');
});

test('an error after having been on is a failure; one during the first connect is not the watch\'s business', () => {
  using t = watch();
  t.w.update({ state: 'connecting' });
  t.w.update({ state: 'error', error: { reason: 'ssh-auth', message: 'refused' } });
  assert.deepEqual(t.alerts, []);
  t.w.update({ state: 'connecting' });
  t.w.update({ state: 'on' });
  t.w.update({ state: 'degraded' });
  t.w.update({ state: 'error', error: { reason: 'ssh-host-key-changed', message: 'The host key changed.' } });
  assert.deepEqual(t.alerts, [{ kind: 'failed', reason: 'ssh-host-key-changed', message: 'The host key changed.' }]);
  // The failure ended the outage: no 'down' follows it.
  t.advance(120_000);
  assert.equal(t.alerts.length, 1);
});

test('disconnecting on purpose says nothing, even mid-outage, and the next connect starts afresh', () => {
  using t = watch();
  t.w.update({ state: 'on' });
  t.w.update({ state: 'degraded' });
  t.advance(10_000);
  t.w.update({ state: 'off' });
  t.advance(120_000);
  t.w.update({ state: 'connecting' });
  t.advance(120_000);
  t.w.update({ state: 'error', error: { reason: 'ssh-unreachable', message: 'no route' } });
  assert.deepEqual(t.alerts, []);
});

test('an alert delay of 0 turns down/back alerts off, not failures', () => {
  using t = watch(0);
  t.w.update({ state: 'on' });
  t.w.update({ state: 'degraded' });
  t.advance(3_600_000);
  t.w.update({ state: 'on' });
  assert.equal(t.alerts.length, 0);
  t.w.update({ state: 'error', error: { reason: 'tunnel-down', message: 'The tunnel service stopped unexpectedly.' } });
  assert.deepEqual(t.alerts.map((a) => a.kind), ['failed']);
});

test('a timer that fires a millisecond before the clock agrees still reports the full delay, and back no less', () => {
  // Seen with the real controller: Node's timers use the loop's cached time, Date.now does not.
  using t = watch(300);
  t.w.update({ state: 'on' });
  t.w.update({ state: 'connecting', detail: 'reconnecting (attempt 1)' });
  t.advance(300, 299);
  assert.deepEqual(t.alerts, [{ kind: 'down', forMs: 300, detail: 'reconnecting (attempt 1)' }]);
  t.w.update({ state: 'on' });
  assert.deepEqual(t.alerts[1], { kind: 'back', afterMs: 300 });
});
