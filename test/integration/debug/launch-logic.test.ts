import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDevlaneError } from '../../../extension/core/errors';
import type { CloneInfo } from '../../../extension/core/clones/lifecycle';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { clonesOf, launchOptions, listeningPorts, parseCloneSource, unusableForLaunch } from '../../../extension/debug/launch';
import { resolveLaunchConfiguration } from '../../../debug-adapter/dap/config';
import { launchTargetEnv, launchTargetFrom } from '../../../debug-adapter/dap/types';
import { classOutputDirs, hotReplaceSummary } from '../../../extension/debug/hotReplace';

/** The pure parts of the launch flow (no cluster): configuration, options, clone choice, /proc parsing. */

const invalid = (e: unknown) => isDevlaneError(e) && e.reason === 'invalid-input';

test('"clone" of a launch configuration: object, "ns/Kind/name", "ns/name"; anything else is a clear error', () => {
  assert.deepEqual(parseCloneSource({ namespace: 'shop', kind: 'StatefulSet', name: 'db' }), { namespace: 'shop', kind: 'StatefulSet', name: 'db' });
  assert.deepEqual(parseCloneSource({ namespace: 'shop', name: 'orders' }), { namespace: 'shop', kind: 'Deployment', name: 'orders' });
  assert.deepEqual(parseCloneSource('shop/Pod/orders-1'), { namespace: 'shop', kind: 'Pod', name: 'orders-1' });
  assert.deepEqual(parseCloneSource('shop/orders'), { namespace: 'shop', kind: 'Deployment', name: 'orders' });
  assert.throws(() => parseCloneSource(undefined), invalid);
  assert.throws(() => parseCloneSource('orders'), invalid);
  assert.throws(() => parseCloneSource({ namespace: 'shop', kind: 'DaemonSet', name: 'x' }), invalid);
  assert.throws(() => parseCloneSource({ namespace: '', name: 'x' }), invalid);
});

test('launch options: the saved ones, plus keep-alive, JDWP on and no liveness probe', () => {
  const saved = resolveOptions({ startCommand: 'original', removeProbes: { liveness: false, readiness: true }, jvm: { jdwp: { enabled: false, port: 8000 } }, env: { A: '1' } });
  const o = launchOptions(saved);
  assert.equal(o.startCommand, 'keep-alive');
  assert.deepEqual(o.removeProbes, { liveness: true, readiness: true, startup: false });
  assert.deepEqual(o.jvm.jdwp, { enabled: true, port: 8000, suspend: false });
  assert.deepEqual(o.env, { A: '1' });
  assert.equal(launchOptions(saved, 5006).jvm.jdwp.port, 5006);
  assert.equal(launchOptions(saved, undefined, 'app').container, 'app');
  assert.equal(launchOptions(saved).container, saved.container);
});

function info(name: string, over: Partial<CloneInfo> = {}): CloneInfo {
  return { ref: { kind: 'Clone', namespace: 'shop', name }, uid: name, phase: 'Running', cloneOf: 'Deployment/orders', ownerDisplay: 'me', appContainer: 'orders', supervised: true, ready: true, ...over };
}

test('the clone to reuse: same namespace and source, ready first, then newest; unusable ones say why', () => {
  const all = [
    info('old', { createdAt: new Date(1000) }),
    info('new', { createdAt: new Date(2000) }),
    info('starting', { ready: false, createdAt: new Date(3000) }),
    info('other-source', { cloneOf: 'Deployment/inventory' }),
    info('elsewhere', { ref: { kind: 'Clone', namespace: 'dev', name: 'elsewhere' } }),
  ];
  assert.deepEqual(clonesOf(all, { namespace: 'shop', kind: 'Deployment', name: 'orders' }).map((c) => c.ref.name), ['new', 'old', 'starting']);
  assert.equal(unusableForLaunch(info('a')), undefined);
  assert.match(unusableForLaunch(info('a', { supervised: false })) ?? '', /keep-alive/);
  assert.match(unusableForLaunch(info('a', { options: resolveOptions({ jvm: { jdwp: { enabled: false } } }) })) ?? '', /JDWP/);
  assert.match(unusableForLaunch(info('a', { reason: 'Terminating' })) ?? '', /deleted/);
});

test('listening ports from /proc/net/tcp and tcp6: LISTEN (0A) rows only', () => {
  const text = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:138D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1',
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0',
  ].join('\n');
  assert.deepEqual([...listeningPorts(text)].sort((a, b) => a - b), [5005, 8080]);
  assert.equal(listeningPorts('').size, 0);
});

test('a launch configuration keeps its clone, gets source roots and step filters; the adapter reads its target from the environment', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-launch-'));
  fs.mkdirSync(path.join(ws, 'src/main/java'), { recursive: true });
  const c = resolveLaunchConfiguration({ type: 'devlane', request: 'launch', name: 'l', clone: 'shop/orders' }, [ws]);
  fs.rmSync(ws, { recursive: true, force: true });
  assert.deepEqual(c.sourcePaths, [path.join(ws, 'src/main/java')]);
  assert.ok(c.stepFilters?.includes('java.*'));
  assert.equal(c.clone, 'shop/orders');
  assert.throws(() => resolveLaunchConfiguration({ type: 'devlane', request: 'launch', name: 'l' }, []), invalid);
  assert.throws(() => resolveLaunchConfiguration({ type: 'devlane', request: 'launch', name: 'l', clone: 'a/b', jdwpPort: 70000 }, []), invalid);
  assert.throws(() => resolveLaunchConfiguration({ type: 'devlane', request: 'launch', name: 'l', clone: 'a/b', container: 3 }, []), invalid);
  assert.throws(() => resolveLaunchConfiguration({ type: 'devlane', request: 'launch', name: 'l', clone: 'a/b', context: '' }, []), invalid);
  assert.equal(resolveLaunchConfiguration({ type: 'devlane', request: 'launch', name: 'l', clone: 'a/b', container: 'app', context: 'kind' }, []).container, 'app');

  assert.deepEqual(launchTargetFrom({ [launchTargetEnv]: JSON.stringify({ namespace: 'shop', pod: 'p', port: 5005, context: 'c' }) }), { namespace: 'shop', pod: 'p', port: 5005, context: 'c' });
  assert.equal(launchTargetFrom({}), undefined);
  assert.equal(launchTargetFrom({ [launchTargetEnv]: '{"namespace":"shop"}' }), undefined);
  assert.equal(launchTargetFrom({ [launchTargetEnv]: 'not json' }), undefined);
});

test('hot replace looks in the launch\'s deployed classes folder, else the build tools\' output folders', () => {
  const dirs = new Set(['/ws/target/classes', '/ws/build/classes/java/main', '/deployed']);
  const isDir = (p: string) => dirs.has(p);
  assert.deepEqual(classOutputDirs('/ws', '/deployed', isDir), ['/deployed']);
  assert.deepEqual(classOutputDirs('/ws', '/ws/target/app.jar', isDir), ['/ws/target/classes', '/ws/build/classes/java/main']);
  assert.deepEqual(classOutputDirs(undefined, undefined, isDir), []);
  assert.equal(hotReplaceSummary([]), 'no loaded class changed since the last replace');
  assert.equal(hotReplaceSummary(['a.A', 'a.B', 'a.C', 'a.D', 'a.E']), 'hot-replaced a.A, a.B, a.C and 2 more');
});
