import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCloneOptions, readCloneOptionsFile, readSavedClones, saveCloneOptions, saveCloneOptionsFile } from '../../../extension/core/clones/config';
import { cloneDefaults, diffFromDefaults, resolveOptions } from '../../../extension/core/clones/spec/options';
import { isDevlaneError } from '../../../extension/core/errors';

const orders = { namespace: 'shop', kind: 'Deployment', name: 'orders' };

test('defaults when nothing is saved', () => {
  assert.deepEqual(readCloneOptions('', orders), cloneDefaults);
  assert.deepEqual(readCloneOptions('tunnel:\n  socksPort: 1080\n', orders), cloneDefaults);
});

test('saving writes only what differs from the defaults and keeps the rest of the file', () => {
  const text = '# my project\ntunnel:\n  socksPort: 1080 # keep me\n';
  const o = resolveOptions({ name: 'ignored-pod-name', startCommand: 'original', jvm: { jdwp: { port: 8000 } }, env: { A: '1' } });
  const saved = saveCloneOptions(text, orders, o);
  assert.ok(saved.startsWith('# my project\ntunnel:\n  socksPort: 1080 # keep me\n'));
  const entries = readSavedClones(saved);
  assert.deepEqual(entries, [{ ...orders, options: { startCommand: 'original', jvm: { jdwp: { port: 8000 } }, env: { A: '1' } } }]);
  const back = readCloneOptions(saved, orders);
  assert.equal(back.startCommand, 'original');
  assert.equal(back.jvm.jdwp.port, 8000);
  assert.equal(back.jvm.jdwp.enabled, true);
  assert.equal(back.name, undefined);
});

test('saving replaces the entry of the same workload and adds others', () => {
  let text = saveCloneOptions('', orders, resolveOptions({ ttlMinutes: 30 }));
  text = saveCloneOptions(text, { ...orders, name: 'inventory' }, resolveOptions({ keepInServices: true }));
  text = saveCloneOptions(text, orders, resolveOptions({ ttlMinutes: 45 }));
  const all = readSavedClones(text);
  assert.equal(all.length, 2);
  assert.equal(readCloneOptions(text, orders).ttlMinutes, 45);
  assert.equal(readCloneOptions(text, { ...orders, name: 'inventory' }).keepInServices, true);
});

test('bad files and bad values are clear errors', () => {
  assert.throws(() => readSavedClones('clones: {a: 1}'), (e) => isDevlaneError(e) && e.reason === 'invalid-input');
  assert.throws(() => readSavedClones('clones:\n  - kind: Deployment\n'), (e) => isDevlaneError(e) && /namespace, kind and name/.test(e.message));
  assert.throws(() => readSavedClones('clones: [\n'), (e) => isDevlaneError(e) && /not valid YAML/.test(e.message));
  assert.throws(() => readCloneOptions('clones:\n  - {namespace: shop, kind: Deployment, name: orders, jvm: {jdwp: {port: 70000}}}\n', orders), (e) => isDevlaneError(e) && /jdwp.port/.test(e.message));
  assert.throws(() => resolveOptions({ labels: { 'bad key!': 'x' } }), (e) => isDevlaneError(e) && e.reason === 'invalid-input');
  assert.throws(() => resolveOptions({ ttlMinutes: 0 }), (e) => isDevlaneError(e) && /ttlMinutes/.test(e.message));
  assert.throws(() => resolveOptions({ name: 'Not_A_Name' }), (e) => isDevlaneError(e));
  assert.deepEqual(diffFromDefaults(cloneDefaults), {});
});

test('the file functions read a missing file as defaults and write atomically', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-clones-'));
  try {
    const file = path.join(dir, 'devlane.yaml');
    assert.deepEqual(await readCloneOptionsFile(file, orders), cloneDefaults);
    await saveCloneOptionsFile(file, orders, resolveOptions({ nodeName: 'node-1' }));
    assert.equal((await readCloneOptionsFile(file, orders)).nodeName, 'node-1');
    assert.deepEqual(fs.readdirSync(dir), ['devlane.yaml']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
