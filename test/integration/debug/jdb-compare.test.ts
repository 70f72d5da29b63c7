/**
 * Correctness against the reference peer: the same program, the same breakpoints, once under
 * Devlane's adapter and once under the JDK's own jdb; at every stop the frames (Class.method:line)
 * and the locals (name = value) must agree. Runs on every JDK of the machine.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { attach, bundleAdapter, startClient, stopQueue } from './support/adapter';
import { Jdb } from './support/jdb';
import { availableJdks, bin, compileFixtures, fixtureSourceRoot, lineOf, startJvm, type Jdk } from './support/jvm';

/** Where to stop: a marker and the class jdb needs to name for `stop at` (nested classes by binary name). */
const stops: { file: string; marker: string; jdbClass: string }[] = [
  { file: 'demo/Main.java', marker: 'loop', jdbClass: 'demo.Main' },
  { file: 'demo/Main.java', marker: 'inner', jdbClass: 'demo.Main$Inner' },
  { file: 'demo/Main.java', marker: 'afterStep', jdbClass: 'demo.Main' },
  { file: 'demo/Main.java', marker: 'lambda', jdbClass: 'demo.Main' },
  { file: 'demo/Main.java', marker: 'anon', jdbClass: 'demo.Main$1' },
  { file: 'demo/Main.java', marker: 'local', jdbClass: 'demo.Main$1Local' },
  { file: 'demo/Main.java', marker: 'return', jdbClass: 'demo.Main' },
  { file: 'demo/Main.java', marker: 'generic', jdbClass: 'demo.Main$Box' },
  { file: 'demo/Main.java', marker: 'worker', jdbClass: 'demo.Main' },
  { file: 'demo/Main.java', marker: 'bottom', jdbClass: 'demo.Main' },
  { file: 'demo/Later.java', marker: 'greet', jdbClass: 'demo.Later' },
];

interface Stop {
  frames: string[];
  locals: Record<string, string>;
}

/** Frames of our own code only: JDK frames and hidden lambda classes print differently by design. */
function keepFrame(qualifiedOrSimple: string): boolean {
  return !qualifiedOrSimple.includes('$$Lambda');
}

/** A string as jdb prints it: quoted, unescaped; non-ASCII may come out mangled by jdb's console encoding, so it is masked on both sides. */
function jdbString(s: string): string {
  return `"${s}"`.replace(/[^\x20-\x7e]|\\u[0-9a-fA-F]{4}/g, '?');
}

async function adapterStops(jdk: Jdk, classesDir: string, adapterFile: string): Promise<Stop[]> {
  const jvm = await startJvm({ classesDir, mainClass: 'demo.Main', jdk });
  const dc = await startClient(adapterFile);
  try {
    await attach(dc, { port: jvm.port, sourcePaths: [fixtureSourceRoot] });
    const byFile = new Map<string, number[]>();
    for (const s of stops) byFile.set(s.file, [...(byFile.get(s.file) ?? []), lineOf(s.file, s.marker)]);
    for (const [file, lines] of byFile) await dc.setBreakpointsRequest({ source: { path: path.join(fixtureSourceRoot, file) }, breakpoints: lines.map((line) => ({ line })) });
    const out: Stop[] = [];
    const next = stopQueue(dc);
    await dc.configurationDoneRequest();
    for (;;) {
      const ev = await next();
      if (ev === 'terminated') break;
      const threadId = ev.body.threadId as number;
      const st = (await dc.stackTraceRequest({ threadId })).body.stackFrames;
      const top = st[0] as DebugProtocol.StackFrame;
      const scopes = await dc.scopesRequest({ frameId: top.id });
      const vars = (await dc.variablesRequest({ variablesReference: scopes.body.scopes[0]?.variablesReference ?? 0 })).body.variables;
      const locals: Record<string, string> = {};
      for (const v of vars) {
        if (v.name === 'this') continue;
        if (v.type === 'String') locals[v.name] = jdbString(JSON.parse(v.value) as string);
        // jdb prints chars bare (x), the adapter as a Java literal ('x').
        else if (v.type === 'char') locals[v.name] = v.value.slice(1, -1);
        else if (v.value === 'null' || v.variablesReference === 0) locals[v.name] = v.value;
        else locals[v.name] = '<object>';
      }
      // Frames carry the simple class name; jdb's carry the package, which the jdb side strips.
      out.push({ frames: st.filter((f) => keepFrame(f.name)).map((f) => `${f.name}:${f.line}`), locals });
      await dc.continueRequest({ threadId });
    }
    return out;
  } finally {
    await dc.stop();
    await jvm.dispose();
  }
}

async function jdbStops(jdk: Jdk, classesDir: string): Promise<Stop[]> {
  const jvm = await startJvm({ classesDir, mainClass: 'demo.Main', jdk });
  const proc = spawn(bin(jdk, 'jdb'), ['-J-Dstdout.encoding=UTF-8', '-attach', `127.0.0.1:${jvm.port}`], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  const jdb = new Jdb(proc);
  try {
    await jdb.start();
    for (const s of stops) await jdb.set(`stop at ${s.jdbClass}:${lineOf(s.file, s.marker)}`);
    const out: Stop[] = [];
    while ((await jdb.cont()) === 'stopped') {
      // "  [1] demo.Main$Inner.compute (Main.java:24)" → "Main$Inner.compute:24"; frames without
      // a line ("native method", "null") are skipped: only our own code is compared.
      const frames: string[] = [];
      for (const line of (await jdb.run('where')).split('\n')) {
        const m = /^\s*\[\d+\]\s+(\S+)\s+\((?:[^:()]+):(\d+)\)/.exec(line);
        if (!m) continue;
        const qualified = m[1] as string;
        const method = qualified.slice(qualified.lastIndexOf('.', qualified.lastIndexOf('.') - 1) + 1);
        if (keepFrame(qualified) && qualified.startsWith('demo.')) frames.push(`${method}:${m[2]}`);
      }
      // "name = value" lines; objects print as "instance of Type(id=N)".
      const locals: Record<string, string> = {};
      for (const line of (await jdb.run('locals')).split('\n')) {
        const m = /^(\w+) = (.*)$/.exec(line.trim());
        if (!m) continue;
        const value = m[2] as string;
        locals[m[1] as string] = value.startsWith('instance of') ? '<object>' : value.startsWith('"') ? jdbString(value.slice(1, -1)) : value;
      }
      out.push({ frames, locals });
    }
    return out;
  } finally {
    proc.kill('SIGKILL');
    await jvm.dispose();
  }
}

for (const jdk of availableJdks()) {
  test(`adapter and jdb agree on frames and locals at every stop (JDK ${jdk.feature}, ${jdk.name})`, async (t) => {
    const fx = compileFixtures(jdk);
    t.after(() => fx.dispose());
    const adapter = await bundleAdapter();
    t.after(() => adapter.dispose());
    const ours = await adapterStops(jdk, fx.classesDir, adapter.file);
    const theirs = await jdbStops(jdk, fx.classesDir);
    // The adapter's frames include JDK frames (Thread.run for the worker); compare our code only.
    const ownFrames = (s: Stop) => ({ ...s, frames: s.frames.filter((f) => /^(Main|Later)/.test(f)) });
    assert.ok(theirs.length >= stops.length, `jdb stopped ${theirs.length} times`);
    assert.deepEqual(ours.map(ownFrames), theirs);
  });
}
