import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attach, bundleAdapter, localsOf, startClient, stopQueue, stoppedAt } from './support/adapter';
import { startJvm } from './support/jvm';

/**
 * A second top-level class in a source file (`class Helper` beside `public class Primary`): HotSpot
 * cannot filter class loads by source file, so the adapter must find it through its package and
 * SourceFile attribute — before it loads and after.
 */

const primary = [
  'package multi;',
  '',
  'public class Primary {',
  '    public static void main(String[] args) {',
  '        int total = Other.twice(1);',
  '        for (int i = 1; i <= 2; i++) total += Helper.twice(i * 10);',
  '        System.out.println("total=" + total);',
  '    }',
  '}',
  '',
  'class Helper {',
  '    static int twice(int x) {',
  '        int y = x * 2; // @twice',
  '        return y; // @return',
  '    }',
  '}',
  '',
].join('\n');
// Same package, another file, loaded and run first, with code on the same line numbers: its class
// must not take the breakpoints of Primary.java.
const other = ['package multi;', '', 'class Other {', ...Array.from({ length: 8 }, () => ''), '    static int twice(int x) {', '        int y = x * 2;', '        return y;', '    }', '}', ''].join('\n');

test('breakpoints in a second top-level class of a file: installed when it loads, and in the loaded class', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-multi-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'multi'), { recursive: true });
  const primaryJava = path.join(src, 'multi/Primary.java');
  fs.writeFileSync(primaryJava, primary);
  fs.writeFileSync(path.join(src, 'multi/Other.java'), other);
  const javac = spawnSync('javac', ['-g', '-d', path.join(dir, 'classes'), primaryJava, path.join(src, 'multi/Other.java')], { encoding: 'utf8' });
  assert.equal(javac.status, 0, javac.stderr);
  const line = (marker: string) => primary.split('\n').findIndex((l) => l.includes(`// @${marker}`)) + 1;

  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  // suspend=y: no class of the program is loaded when the breakpoint is set.
  const jvm = await startJvm({ classesDir: path.join(dir, 'classes'), mainClass: 'multi.Primary' });
  t.after(() => jvm.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  await attach(dc, { port: jvm.port, sourcePaths: [src] });
  const before = await dc.setBreakpointsRequest({ source: { path: primaryJava }, breakpoints: [{ line: line('twice') }] });
  assert.equal(before.body.breakpoints[0]?.verified, false);
  await dc.configurationDoneRequest();

  const s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.name, 'Helper.twice');
  assert.equal(s.top.line, line('twice'));
  assert.equal(s.top.source?.path, primaryJava);
  assert.equal((await localsOf(dc, s.top.id)).values.x, '10');

  // Helper is loaded now: a breakpoint set on it is verified at once and hit.
  const after = await dc.setBreakpointsRequest({ source: { path: primaryJava }, breakpoints: [{ line: line('return') }] });
  assert.equal(after.body.breakpoints[0]?.verified, true);
  await dc.continueRequest({ threadId: s.threadId });
  const r = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(r.top.line, line('return'));
  assert.equal((await localsOf(dc, r.top.id)).values.y, '20');

  await dc.setBreakpointsRequest({ source: { path: primaryJava }, breakpoints: [] });
  const terminated = dc.waitForEvent('terminated');
  await dc.continueRequest({ threadId: r.threadId });
  await terminated;
  await jvm.waitForOutput('total=62');
});
