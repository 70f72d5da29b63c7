import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { dataPlaneNodeFlags } from '../../../extension/core/tunnels/dataPlane';

// A V8 flag the running V8 does not know stops the data plane before its first line, so the
// transfer flag goes only to the one V8 known to have it and to need it.
test('the ArrayBuffer transfer flag is added for Node 20 (V8 11.3) only', () => {
  assert.deepEqual(dataPlaneNodeFlags({ v8: '11.3.244.8-node.38', hasTransfer: false }), ['--max-semi-space-size=1', '--harmony-rab-gsab-transfer']);
  // Electron with V8 13 ships transfer; older or unknown V8s are left without it (packets then wait for the collector).
  assert.deepEqual(dataPlaneNodeFlags({ v8: '13.2.152.41-electron.0', hasTransfer: true }), ['--max-semi-space-size=1']);
  assert.deepEqual(dataPlaneNodeFlags({ v8: '10.2.154.26-node.36', hasTransfer: false }), ['--max-semi-space-size=1']);
  assert.deepEqual(dataPlaneNodeFlags({ v8: '11.8.172.17-node.19', hasTransfer: false }), ['--max-semi-space-size=1']);
  // Another binary than our own: nothing known about it.
  assert.deepEqual(dataPlaneNodeFlags(undefined), ['--max-semi-space-size=1']);
});
