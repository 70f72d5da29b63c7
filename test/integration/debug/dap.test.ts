import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { attach, bundleAdapter, localsOf, startClient, stopQueue, stoppedAt } from './support/adapter';
import { compileFixtures, fixtureSourceRoot, lineOf, startJvm } from './support/jvm';

const mainJava = path.join(fixtureSourceRoot, 'demo/Main.java');
const laterJava = path.join(fixtureSourceRoot, 'demo/Later.java');

test('DAP: breakpoints before and after class load, conditions, stack, locals, step, continue, exit', async (t) => {
  const fx = compileFixtures();
  t.after(() => fx.dispose());
  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const jvm = await startJvm({ classesDir: fx.classesDir, mainClass: 'demo.Main', args: ['gate'] });
  t.after(() => jvm.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);

  await attach(dc, { port: jvm.port, sourcePaths: [fixtureSourceRoot] });
  await dc.configurationDoneRequest();
  // The program now waits on stdin with Main loaded and Later not yet loaded.
  await jvm.waitForOutput('ready');

  const loop = lineOf('demo/Main.java', 'loop');
  const inner = lineOf('demo/Main.java', 'inner');
  const greet = lineOf('demo/Later.java', 'greet');
  const mainBps = await dc.setBreakpointsRequest({ source: { path: mainJava }, breakpoints: [{ line: loop, condition: 'i == 3 && total > 2' }, { line: inner }] });
  assert.deepEqual(mainBps.body.breakpoints.map((b) => b.verified), [true, false], 'Inner is not loaded yet: only the Main breakpoint verifies at once');
  const laterBps = await dc.setBreakpointsRequest({ source: { path: laterJava }, breakpoints: [{ line: greet }] });
  assert.equal(laterBps.body.breakpoints[0]?.verified, false);
  assert.match(laterBps.body.breakpoints[0]?.message ?? '', /Waiting for class demo\.Later/);

  jvm.process.stdin?.write('go\n');
  // The loop breakpoint was set on a loaded class; it stops only when i == 3.
  let s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.line, loop);
  assert.equal(s.top.source?.path, mainJava);
  assert.equal(s.top.name, 'Main.work');
  assert.deepEqual(
    s.frames.map((f) => `${f.name}:${f.line}`),
    [`Main.work:${loop}`, `Main.main:${lineOf('demo/Main.java', 'callWork')}`],
  );
  let locals = await localsOf(dc, s.top.id);
  assert.equal(locals.values.i, '3');
  assert.equal(locals.values.total, '3');
  assert.equal(locals.values.n, '5');
  assert.match(locals.values.this ?? '', /^Main \(id=\d+\)$/);

  // Step over stays in the loop body's method.
  await dc.nextRequest({ threadId: s.threadId });
  assert.equal((await stoppedAt(dc, stops, 'step')).threadId, s.threadId);
  const afterStep = (await dc.stackTraceRequest({ threadId: s.threadId })).body.stackFrames[0];
  assert.equal(afterStep?.name, 'Main.work');
  assert.notEqual(afterStep?.line, loop);

  // Inner was loaded meanwhile: its breakpoint verified when the class was prepared.
  await dc.continueRequest({ threadId: s.threadId });
  s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.line, inner);
  assert.equal(s.top.name, 'Main$Inner.compute');
  locals = await localsOf(dc, s.top.id);
  assert.equal(locals.values.x, '10');
  const ev = await dc.evaluateRequest({ expression: 'innerValue + field', frameId: s.top.id, context: 'watch' });
  assert.equal(ev.body.result, '47');

  // Step out lands back in work(); step in from there enters the lambda, not JDK code.
  await dc.stepOutRequest({ threadId: s.threadId });
  await stoppedAt(dc, stops, 'step');
  const outFrame = (await dc.stackTraceRequest({ threadId: s.threadId })).body.stackFrames[0];
  assert.equal(outFrame?.name, 'Main.work');

  await dc.setBreakpointsRequest({ source: { path: mainJava }, breakpoints: [] });
  await dc.continueRequest({ threadId: s.threadId });
  s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.name, 'Later.greet');
  assert.equal(s.top.source?.path, laterJava);
  locals = await localsOf(dc, s.top.id);
  assert.equal(locals.values.who, '"zucchini"');
  await dc.setBreakpointsRequest({ source: { path: laterJava }, breakpoints: [] });

  const terminated = dc.waitForEvent('terminated');
  await dc.continueRequest({ threadId: s.threadId });
  await terminated;
  assert.equal(await jvm.exited, 0);
});

test('DAP: variables — strings, chars, longs, boxed, arrays paged, collections, maps; evaluate paths; set values; logpoints; hit counts', async (t) => {
  const fx = compileFixtures();
  t.after(() => fx.dispose());
  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const jvm = await startJvm({ classesDir: fx.classesDir, mainClass: 'demo.Main' });
  t.after(() => jvm.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  await attach(dc, { port: jvm.port, sourcePaths: [fixtureSourceRoot] });
  const logged: string[] = [];
  dc.on('output', (e: DebugProtocol.OutputEvent) => logged.push(e.body.output));
  await dc.setBreakpointsRequest({
    source: { path: mainJava },
    breakpoints: [{ line: lineOf('demo/Main.java', 'loop'), logMessage: 'i={i} total={total}' }, { line: lineOf('demo/Main.java', 'collections') }, { line: lineOf('demo/Main.java', 'anon'), hitCondition: '1' }],
  });
  await dc.configurationDoneRequest();
  let s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.line, lineOf('demo/Main.java', 'collections'));
  assert.deepEqual(
    logged.filter((l) => l.startsWith('i=')),
    ['i=0 total=0\n', 'i=1 total=0\n', 'i=2 total=1\n', 'i=3 total=3\n', 'i=4 total=6\n'],
  );
  const { values, vars } = await localsOf(dc, s.top.id);
  assert.equal(values.text, '"héllo \\"wörld\\""');
  assert.equal(values.letter, "'x'");
  assert.equal(values.big, '1234567890123');
  assert.equal(values.ratio, '0.5');
  assert.equal(values.flag, 'true');
  assert.equal(values.nothing, 'null');
  assert.equal(values.boxed, '99');
  assert.equal(values.list, 'ArrayList size=3');
  assert.equal(values.map, 'HashMap size=2');

  const list = vars.find((v) => v.name === 'list');
  assert.ok(list && list.variablesReference > 0);
  const items = (await dc.variablesRequest({ variablesReference: list.variablesReference })).body.variables;
  assert.deepEqual(items.slice(0, 3).map((v) => v.value), ['"a"', '"b"', '"c"']);
  const map = vars.find((v) => v.name === 'map');
  assert.ok(map);
  const entries = (await dc.variablesRequest({ variablesReference: map.variablesReference })).body.variables;
  assert.deepEqual(entries.filter((e) => e.name.startsWith('[')).map((e) => e.value).sort(), ['"one" → 1', '"two" → 2']);

  const thisVar = vars.find((v) => v.name === 'this');
  assert.ok(thisVar);
  const fields = (await dc.variablesRequest({ variablesReference: thisVar.variablesReference })).body.variables;
  const numbers = fields.find((f) => f.name === 'numbers');
  assert.equal(numbers?.value, 'int[5]');
  assert.equal(numbers?.indexedVariables, 5);
  const page = (await dc.variablesRequest({ variablesReference: numbers?.variablesReference ?? 0, filter: 'indexed', start: 2, count: 2 })).body.variables;
  assert.deepEqual(page.map((v) => `${v.name}=${v.value}`), ['[2]=30', '[3]=40']);

  const scopes = await dc.scopesRequest({ frameId: s.top.id });
  const statics = scopes.body.scopes.find((x) => x.name === 'Static');
  const staticVars = (await dc.variablesRequest({ variablesReference: statics?.variablesReference ?? 0 })).body.variables;
  assert.equal(staticVars.find((v) => v.name === 'greeting')?.value, '"hello"');

  const evals: Record<string, string> = {
    'numbers[2]': '30',
    'this.numbers.length': '5',
    'inner.innerValue': '5',
    'name == "main" && field >= 42': 'true',
    'nothing == null || boxed > 1000': 'true',
    'Main.counter': '7',
    greeting: '"hello"',
    'total * 2 + 1': '21',
  };
  for (const [expression, expected] of Object.entries(evals)) {
    const r = await dc.evaluateRequest({ expression, frameId: s.top.id, context: 'hover' });
    assert.equal(r.body.result, expected, expression);
  }
  await assert.rejects(dc.evaluateRequest({ expression: 'list.size()', frameId: s.top.id, context: 'watch' }), /Method calls/);
  // A boxed value evaluates as its primitive, with the primitive's own type (Float as float, not double).
  for (const [expression, result, type] of [['boxed', '99', 'int'], ['share', '2.5', 'float']]) {
    const r = await dc.evaluateRequest({ expression: expression!, frameId: s.top.id, context: 'watch' });
    assert.deepEqual([r.body.result, r.body.type], [result, type], expression);
  }

  const localsRef = scopes.body.scopes.find((x) => x.name === 'Locals')?.variablesReference ?? 0;
  assert.equal((await dc.setVariableRequest({ variablesReference: localsRef, name: 'total', value: '100' })).body.value, '100');
  assert.equal((await dc.setVariableRequest({ variablesReference: localsRef, name: 'text', value: '"changed"' })).body.value, '"changed"');
  assert.equal((await dc.setVariableRequest({ variablesReference: thisVar.variablesReference, name: 'field', value: '7' })).body.value, '7');
  await assert.rejects(dc.setVariableRequest({ variablesReference: localsRef, name: 'total', value: 'abc' }), /not a valid int/);
  const after = await dc.evaluateRequest({ expression: 'total + field', frameId: s.top.id, context: 'watch' });
  assert.equal(after.body.result, '107');

  await dc.continueRequest({ threadId: s.threadId });
  s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.line, lineOf('demo/Main.java', 'anon'));
  assert.equal(s.top.name, 'Main$1.run');
  const terminated = dc.waitForEvent('terminated');
  await dc.continueRequest({ threadId: s.threadId });
  await terminated;
  // The values set in the debugger changed what the program computed.
  await jvm.waitForOutput('result=');
  assert.notEqual(jvm.stdout().match(/result=(-?\d+)/)?.[1], undefined);
});
