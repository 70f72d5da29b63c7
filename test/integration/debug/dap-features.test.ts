import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attach, bundleAdapter, localsOf, startClient, stopQueue, stoppedAt } from './support/adapter';
import { availableJdks, compileFixtures, fixtureSourceRoot, lineOf, startJvm } from './support/jvm';

const mainJava = path.join(fixtureSourceRoot, 'demo/Main.java');
const laterJava = path.join(fixtureSourceRoot, 'demo/Later.java');

test('DAP: step in lands in user code (inner class, lambda body) and skips JDK frames', async (t) => {
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
  await dc.setBreakpointsRequest({ source: { path: mainJava }, breakpoints: [{ line: lineOf('demo/Main.java', 'collections') }, { line: lineOf('demo/Main.java', 'callLambda') }] });
  await dc.configurationDoneRequest();
  let s = await stoppedAt(dc, stops, 'breakpoint');
  await dc.stepInRequest({ threadId: s.threadId });
  s = await stoppedAt(dc, stops, 'step');
  assert.equal(`${s.top.name}:${s.top.line}`, `Main$Inner.compute:${lineOf('demo/Main.java', 'inner')}`);

  await dc.continueRequest({ threadId: s.threadId });
  s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.line, lineOf('demo/Main.java', 'callLambda'));
  await dc.stepInRequest({ threadId: s.threadId });
  s = await stoppedAt(dc, stops, 'step');
  assert.equal(s.top.line, lineOf('demo/Main.java', 'lambda'));
  assert.match(s.top.name, /^Main\.lambda\$work\$\d+$/);
  assert.equal((await localsOf(dc, s.top.id)).values.v, '58', 'compute(10) + 1');
  await dc.disconnectRequest({});
});

test('DAP: hot code replace redefines a rebuilt class; the next call runs the new code', async (t) => {
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
  await dc.setBreakpointsRequest({ source: { path: laterJava }, breakpoints: [{ line: lineOf('demo/Later.java', 'greet') }] });
  await dc.configurationDoneRequest();
  const s = await stoppedAt(dc, stops, 'breakpoint');

  // Rebuild Later with a different method body into its own output folder.
  const rebuilt = path.join(path.dirname(fx.classesDir), 'rebuilt');
  const src = path.join(path.dirname(fx.classesDir), 'src', 'demo');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'Later.java'), fs.readFileSync(laterJava, 'utf8').replace('"hi " + who', '"bye " + who'));
  const javac = spawnSync('javac', ['-g', '-cp', fx.classesDir, '-d', rebuilt, path.join(src, 'Later.java')], { encoding: 'utf8' });
  assert.equal(javac.status, 0, javac.stderr);
  const r = await dc.customRequest('redefineClasses', { outputDir: rebuilt });
  assert.deepEqual(r.body.redefined, ['demo.Later']);
  // Nothing changed since that replace: the next one, over several folders, sends nothing.
  const again = await dc.customRequest('redefineClasses', { outputDirs: [rebuilt, fx.classesDir] });
  assert.deepEqual(again.body.redefined, []);

  await dc.setBreakpointsRequest({ source: { path: laterJava }, breakpoints: [] });
  const terminated = dc.waitForEvent('terminated');
  await dc.continueRequest({ threadId: s.threadId });
  await terminated;
  await jvm.waitForOutput('last=');
  assert.match(jvm.stdout(), /last=bye again/);
});

for (const jdk of availableJdks().filter((j) => j.feature >= 21)) {
  test(`DAP: a breakpoint on a virtual thread stops it and lists it (JDK ${jdk.feature})`, async (t) => {
    const fx = compileFixtures(jdk);
    t.after(() => fx.dispose());
    const adapter = await bundleAdapter();
    t.after(() => adapter.dispose());
    const jvm = await startJvm({ classesDir: fx.classesDir, mainClass: 'vthreads.VirtualMain', jdk });
    t.after(() => jvm.dispose());
    const dc = await startClient(adapter.file);
    t.after(() => dc.stop());
    const stops = stopQueue(dc);
    await attach(dc, { port: jvm.port, sourcePaths: [fixtureSourceRoot] });
    await dc.setBreakpointsRequest({ source: { path: path.join(fixtureSourceRoot, 'vthreads/VirtualMain.java') }, breakpoints: [{ line: lineOf('vthreads/VirtualMain.java', 'virtual') }] });
    await dc.configurationDoneRequest();
    const s = await stoppedAt(dc, stops, 'breakpoint');
    const threads = (await dc.threadsRequest()).body.threads;
    assert.equal(threads.find((x) => x.id === s.threadId)?.name, 'virtual-1');
    assert.equal((await localsOf(dc, s.top.id)).values.inVirtual, '21');
    const terminated = dc.waitForEvent('terminated');
    await dc.continueRequest({ threadId: s.threadId });
    await terminated;
  });
}
