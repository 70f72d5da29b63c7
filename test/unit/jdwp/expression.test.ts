import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evaluate, parseExpression, parseHitCondition, parseLogMessage, plainText, type EvalScope, type EvalValue } from '../../../debug-adapter/dap/expression';
import { classesOfSource, declaredPackage, typeName } from '../../../debug-adapter/dap/sources';
import { isDevlaneError } from '../../../extension/core/errors';

/** A fake frame for pure evaluation: plain JS data standing in for the VM's objects. */
function scope(locals: Record<string, unknown>, self?: Record<string, unknown>): EvalScope & { reads: string[] } {
  const reads: string[] = [];
  const wrap = (v: unknown): EvalValue => {
    if (v === null) return { kind: 'null' };
    if (typeof v === 'boolean') return { kind: 'boolean', value: v };
    if (typeof v === 'number') return { kind: 'number', value: v, integral: Number.isInteger(v) };
    if (typeof v === 'bigint') return { kind: 'long', value: v };
    if (typeof v === 'string') return { kind: 'string', value: v };
    return { kind: 'object', handle: v, identity: `obj${JSON.stringify(v).length}`, isArray: Array.isArray(v) };
  };
  return {
    reads,
    async name(n) {
      reads.push(n);
      if (n in locals) return wrap(locals[n]);
      if (self && n in self) return wrap(self[n]);
      throw new Error(`no ${n}`);
    },
    async thisObject() {
      if (!self) throw new Error('static');
      return wrap(self);
    },
    async member(t, n) {
      const o = (t as { handle: Record<string, unknown> }).handle;
      if (Array.isArray(o) && n === 'length') return wrap(o.length);
      return wrap(o[n]);
    },
    async index(t, i) {
      return wrap((t as { handle: unknown[] }).handle[i]);
    },
  };
}

const run = async (src: string, s: EvalScope) => plainText(await evaluate(parseExpression(src), s));

test('conditions: comparisons, && and ||, null, strings, numbers over locals, this and fields', async () => {
  const s = scope({ i: 3, name: 'bob', order: { total: 12.5, items: [1, 2, 3], owner: null }, big: 5000000000n }, { field: 42, label: 'x' });
  const cases: Record<string, string> = {
    'i == 3': 'true',
    'i != 3 || name == "bob"': 'true',
    'i >= 3 && i < 4': 'true',
    'order.total > 12': 'true',
    'order.items[2] == 3': 'true',
    'order.items.length': '3',
    'order.owner == null': 'true',
    'this.field == 42 && field == 42': 'true',
    'label == "x"': 'true',
    'big > 4999999999L': 'true',
    'big == 5000000000L': 'true',
    '(i + 1) * 2 % 5': '3',
    '7 / 2': '3',
    '7.0 / 2': '3.5',
    '-i': '-3',
    '!(i == 3)': 'false',
    '"n=" + i': 'n=3',
    "'a' < 'b'": 'true',
  };
  for (const [src, want] of Object.entries(cases)) assert.equal(await run(src, s), want, src);
});

test('&& and || short-circuit, so a null guard protects the right side', async () => {
  const s = scope({ o: null });
  assert.equal(await run('o != null && o.x > 1', s), 'false');
  assert.equal(await run('o == null || o.x > 1', s), 'true');
  await assert.rejects(run('o.x > 1', s), (e: unknown) => isDevlaneError(e) && /null/.test(e.message));
});

test('bad expressions are invalid-input errors that say what is wrong', async () => {
  const s = scope({ i: 1, s: 'a' });
  for (const [src, re] of [
    ['list.size()', /Method calls/],
    ['i ==', /ends too early/],
    ['i # 2', /Unexpected "#"/],
    ['"open', /not closed/],
    ['i && true', /not a boolean/],
    ['s > 1', /needs numbers/],
    ['1 / 0', /Division by zero/],
    ['i i', /Unexpected "i"/],
  ] as const) {
    await assert.rejects(
      (async () => run(src, s))(),
      (e: unknown) => isDevlaneError(e) && e.reason === 'invalid-input' && re.test(e.message),
      src,
    );
  }
});

test('hit conditions and logpoint messages', () => {
  const exactly = parseHitCondition('3');
  assert.deepEqual([1, 2, 3, 4].map(exactly), [false, false, true, false]);
  assert.deepEqual([1, 2, 3].map(parseHitCondition('>= 2')), [false, true, true]);
  assert.deepEqual([1, 2, 3, 4].map(parseHitCondition('% 2')), [false, true, false, true]);
  assert.throws(() => parseHitCondition('often'), (e: unknown) => isDevlaneError(e) && e.reason === 'invalid-input');
  assert.deepEqual(parseLogMessage('i={i} {{literal}} total={a.b[1]}'), [{ text: 'i=' }, { expr: 'i' }, { text: ' {literal} total=' }, { expr: 'a.b[1]' }]);
  assert.deepEqual(parseLogMessage('no braces'), [{ text: 'no braces' }]);
});

test('type names, packages and the classes a source file can hold', () => {
  assert.equal(typeName('Ldemo/Main$Inner;'), 'demo.Main$Inner');
  assert.equal(typeName('[[I'), 'int[][]');
  assert.equal(typeName('[Ljava/lang/String;'), 'java.lang.String[]');
  assert.equal(declaredPackage('/* header */\n// c\npackage com.acme.orders ;\nclass A {}'), 'com.acme.orders');
  assert.equal(declaredPackage('@Deprecated\npackage a.b;'), 'a.b');
  assert.equal(declaredPackage('class NoPackage {}'), '');
  assert.deepEqual(classesOfSource('demo', '/src/demo/Main.java'), { exact: 'demo.Main', nestedPrefix: 'demo.Main$' });
  assert.deepEqual(classesOfSource('', 'Top.java'), { exact: 'Top', nestedPrefix: 'Top$' });
});

test('attach configurations get defaults; a bad port or another request is an invalid-input error', async () => {
  const { resolveAttachConfiguration } = await import('../../../debug-adapter/dap/config');
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-attach-'));
  try {
    for (const d of ['src/main/java', 'src/test/java']) fs.mkdirSync(path.join(ws, d), { recursive: true });
    const r = resolveAttachConfiguration({ type: 'devlane', request: 'attach', name: 'a', port: '5005' }, [ws]);
    assert.equal(r.port, 5005);
    assert.equal(r.hostName, '127.0.0.1');
    assert.deepEqual(r.sourcePaths, [path.join(ws, 'src/main/java'), path.join(ws, 'src/test/java')]);
    assert.ok(r.stepFilters?.includes('java.*'));
    assert.deepEqual(resolveAttachConfiguration({ type: 'devlane', request: 'attach', name: 'a', port: 1, sourcePaths: ['/given'] }, [ws]).sourcePaths, ['/given']);
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
  assert.throws(() => resolveAttachConfiguration({ type: 'devlane', request: 'attach', name: 'a', port: 70000 }, []), (e: unknown) => isDevlaneError(e) && e.reason === 'invalid-input');
  assert.throws(() => resolveAttachConfiguration({ type: 'devlane', request: 'launch', name: 'a', port: 1 }, []), (e: unknown) => isDevlaneError(e) && /not available/.test(e.message));
});

test('the JDWP port of a pod: annotation, port named jdwp, JAVA_TOOL_OPTIONS, command line', async () => {
  const { jdwpPortOf, jdwpPortFromOptions } = await import('../../../debug-adapter/kube/jdwpPort');
  assert.equal(jdwpPortFromOptions('-Xmx64m -agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5005'), 5005);
  assert.equal(jdwpPortFromOptions('-agentlib:jdwp=transport=dt_socket,server=y,address=0.0.0.0:8000,quiet=y'), 8000);
  assert.equal(jdwpPortFromOptions('-agentlib:jdwp=transport=dt_socket,server=n,address=host:5005'), undefined, 'server=n connects out: nothing to attach to');
  assert.equal(jdwpPortOf({ metadata: { annotations: { 'devlane.dev/jdwp-port': '7000' } }, spec: { containers: [{ name: 'a' }] } }), 7000);
  assert.equal(jdwpPortOf({ spec: { containers: [{ name: 'a', ports: [{ name: 'http', containerPort: 8080 }, { name: 'jdwp', containerPort: 5006 }] }] } }), 5006);
  assert.equal(jdwpPortOf({ spec: { containers: [{ name: 'a', env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=5007' }] }] } }), 5007);
  assert.equal(jdwpPortOf({ spec: { containers: [{ name: 'a', command: ['java', '-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=5008', '-jar', 'app.jar'] }] } }), 5008);
  assert.equal(jdwpPortOf({ spec: { containers: [{ name: 'a', command: ['java', '-jar', 'app.jar'] }] } }), undefined);
});

test('the JDWP port from /proc/1/environ and /proc/1/cmdline', async () => {
  const { jdwpPortFromProc } = await import('../../../debug-adapter/kube/jdwpPort');
  const env = Buffer.from('PATH=/bin\0JAVA_TOOL_OPTIONS=-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5009\0HOME=/\0');
  assert.equal(jdwpPortFromProc(env, Buffer.from('java\0-jar\0app.jar\0')), 5009);
  assert.equal(jdwpPortFromProc(Buffer.from('PATH=/bin\0'), Buffer.from('java\0-agentlib:jdwp=transport=dt_socket,server=y,address=5010\0-jar\0app.jar\0')), 5010);
  assert.equal(jdwpPortFromProc(Buffer.from('PATH=/bin\0'), Buffer.from('java\0-jar\0app.jar\0')), undefined);
});
