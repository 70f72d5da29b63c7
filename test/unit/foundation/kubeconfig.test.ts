import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadKubeconfig } from '../../../extension/core/kube/kubeconfig';
import { DevlaneError } from '../../../extension/core/errors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-kubeconfig-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const good = `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: 'https://127.0.0.1:6443', insecure-skip-tls-verify: true}
users:
- name: u1
  user: {token: secret-token}
contexts:
- name: ctx1
  context: {cluster: c1, user: u1, namespace: shop}
- name: ctx2
  context: {cluster: c1, user: u1}
current-context: ctx1
`;

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DevlaneError, `expected a DevlaneError, got ${String(e)}`);
    assert.ok(e.actions.length > 0, 'the error offers a fix');
    return e.reason;
  }
  assert.fail('expected an error');
}

test('a missing, empty or broken kubeconfig is a clear error with a fix', () => {
  assert.equal(reasonOf(() => loadKubeconfig({ path: path.join(dir, 'nope') })), 'kubeconfig-missing');
  assert.equal(reasonOf(() => loadKubeconfig({ path: file('empty', '  \n') })), 'kubeconfig-empty');
  assert.equal(reasonOf(() => loadKubeconfig({ path: file('broken', 'clusters: [ {name: ') })), 'kubeconfig-invalid');
  assert.equal(reasonOf(() => loadKubeconfig({ path: file('nocontext', 'apiVersion: v1\nkind: Config\nclusters: []\n') })), 'kubeconfig-invalid');
  assert.equal(reasonOf(() => loadKubeconfig({ path: file('good1', good), context: 'missing' })), 'context-missing');
});

test('a good kubeconfig gives its context, namespace and server; KUBECONFIG lists merge', () => {
  const f = file('good2', good);
  const a = loadKubeconfig({ path: f });
  assert.equal(a.context, 'ctx1');
  assert.equal(a.namespace, 'shop');
  assert.equal(a.server, 'https://127.0.0.1:6443');
  const b = loadKubeconfig({ path: f, context: 'ctx2' });
  assert.equal(b.namespace, 'default');
  const other = file('other', good.replace(/ctx1/g, 'ctx3').replace(/ctx2/g, 'ctx4'));
  const merged = loadKubeconfig({ env: { KUBECONFIG: [path.join(dir, 'absent'), f, other].join(path.delimiter) }, context: 'ctx4' });
  assert.equal(merged.context, 'ctx4');
  assert.deepEqual(merged.files, [f, other]);
});
