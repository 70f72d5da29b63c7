import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { attach, bundleAdapter, startClient, stopQueue, stoppedAt } from './support/adapter';
import { compileFixtures, fixtureSourceRoot, lineOf, startJvm } from './support/jvm';

test('DAP: caught and uncaught exception breakpoints with exception info', async (t) => {
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
  await dc.setExceptionBreakpointsRequest({ filters: ['caught'] });
  await dc.configurationDoneRequest();
  const s = await stoppedAt(dc, stops, 'exception');
  assert.equal(s.top.line, lineOf('demo/Main.java', 'throwCaught'));
  const info = await dc.exceptionInfoRequest({ threadId: s.threadId });
  assert.equal(info.body.exceptionId, 'java.lang.IllegalStateException');
  assert.equal(info.body.description, 'caught one');
  assert.equal(info.body.breakMode, 'always');
  await dc.setExceptionBreakpointsRequest({ filters: [] });
  await dc.continueRequest({ threadId: s.threadId });
  await jvm.waitForOutput('result=');

  const spin = await startJvm({ classesDir: fx.classesDir, mainClass: 'demo.Spin', args: ['throw'] });
  t.after(() => spin.dispose());
  const dc2 = await startClient(adapter.file);
  t.after(() => dc2.stop());
  const stops2 = stopQueue(dc2);
  await attach(dc2, { port: spin.port, sourcePaths: [fixtureSourceRoot] });
  await dc2.setExceptionBreakpointsRequest({ filters: ['uncaught'] });
  await dc2.configurationDoneRequest();
  const u = await stoppedAt(dc2, stops2, 'exception');
  assert.equal(u.top.line, lineOf('demo/Spin.java', 'uncaught'));
  const threads = (await dc2.threadsRequest()).body.threads;
  assert.equal(threads.find((x) => x.id === u.threadId)?.name, 'thrower');
  const uinfo = await dc2.exceptionInfoRequest({ threadId: u.threadId });
  assert.equal(uinfo.body.exceptionId, 'java.lang.IllegalArgumentException');
  assert.equal(uinfo.body.breakMode, 'unhandled');
  await dc2.disconnectRequest({});
});

test('DAP: pause, disconnect leaves the JVM running, a second debugger is told, re-attach works', async (t) => {
  const fx = compileFixtures();
  t.after(() => fx.dispose());
  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const jvm = await startJvm({ classesDir: fx.classesDir, mainClass: 'demo.Spin' });
  t.after(() => jvm.dispose());

  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  await attach(dc, { port: jvm.port, sourcePaths: [fixtureSourceRoot] });
  await dc.configurationDoneRequest();
  await jvm.waitForOutput('ready');

  // Another debugger meanwhile: the attach fails with a message that says why.
  const other = await startClient(adapter.file);
  t.after(() => other.stop());
  await other.initializeRequest({ adapterID: 'devlane', pathFormat: 'path' });
  await assert.rejects(other.attachRequest({ port: jvm.port } as DebugProtocol.AttachRequestArguments), /another debugger is attached/);

  const threads = (await dc.threadsRequest()).body.threads;
  const main = threads.find((x) => x.name === 'main');
  assert.ok(main);
  await dc.pauseRequest({ threadId: main.id });
  await stoppedAt(dc, stops, 'pause');
  const st = await dc.stackTraceRequest({ threadId: main.id });
  assert.equal(st.body.stackFrames[0]?.name, 'Spin.main');
  assert.equal(st.body.stackFrames[0]?.source?.path, path.join(fixtureSourceRoot, 'demo/Spin.java'));
  await dc.disconnectRequest({});
  assert.equal(jvm.process.exitCode, null, 'the JVM still runs after disconnect');

  // The agent listens again after a debugger left: a new session attaches and stops on a breakpoint.
  const again = await startClient(adapter.file);
  t.after(() => again.stop());
  const againStops = stopQueue(again);
  await attach(again, { port: await jvm.listeningPort(2), sourcePaths: [fixtureSourceRoot] });
  await again.setBreakpointsRequest({ source: { path: path.join(fixtureSourceRoot, 'demo/Spin.java') }, breakpoints: [{ line: lineOf('demo/Spin.java', 'spin') }] });
  await again.configurationDoneRequest();
  const s = await stoppedAt(again, againStops, 'breakpoint');
  assert.equal(s.top.line, lineOf('demo/Spin.java', 'spin'));
  await again.setBreakpointsRequest({ source: { path: path.join(fixtureSourceRoot, 'demo/Spin.java') }, breakpoints: [] });
  await again.disconnectRequest({});
  assert.equal(jvm.process.exitCode, null);
});

test('DAP: classes without debug info leave the breakpoint unverified with the reason', async (t) => {
  const fx = compileFixtures();
  t.after(() => fx.dispose());
  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const jvm = await startJvm({ classesDir: fx.classesDir, mainClass: 'nodebug.Plain' });
  t.after(() => jvm.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  await attach(dc, { port: jvm.port, sourcePaths: [fixtureSourceRoot] });
  const plain = path.join(fixtureSourceRoot, 'nodebug/Plain.java');
  const set = await dc.setBreakpointsRequest({ source: { path: plain }, breakpoints: [{ line: lineOf('nodebug/Plain.java', 'plain') }] });
  assert.equal(set.body.breakpoints[0]?.verified, false);
  const changed = dc.waitForEvent('breakpoint');
  const terminated = dc.waitForEvent('terminated');
  await dc.configurationDoneRequest();
  const bp = ((await changed) as DebugProtocol.BreakpointEvent).body.breakpoint;
  assert.equal(bp.verified, false);
  assert.match(bp.message ?? '', /compiled without line numbers: compile it with -g/);
  await terminated;
});

test('DAP: a malformed JDWP packet mid-session ends the session with a clear message', async (t) => {
  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  // A peer that behaves like a VM for the attach (IDSizes, Version, Capabilities) and answers the
  // next command with a packet whose length field cannot be right.
  const server = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    let handshaken = false;
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!handshaken && buf.length >= 14) {
        handshaken = true;
        buf = buf.subarray(14);
        s.write('JDWP-Handshake');
      }
      while (handshaken && buf.length >= 11 && buf.length >= buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const id = buf.readUInt32BE(4);
        const cmd = `${buf[9]}/${buf[10]}`;
        buf = buf.subarray(len);
        const reply = (data: Buffer) => {
          const h = Buffer.alloc(11);
          h.writeUInt32BE(11 + data.length, 0);
          h.writeUInt32BE(id, 4);
          h.writeUInt8(0x80, 8);
          s.write(Buffer.concat([h, data]));
        };
        const str = (x: string) => Buffer.concat([Buffer.from([0, 0, 0, x.length]), Buffer.from(x)]);
        if (cmd === '1/7') reply(Buffer.from([0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8]));
        else if (cmd === '1/1') reply(Buffer.concat([str('fake'), Buffer.from([0, 0, 0, 17, 0, 0, 0, 0]), str('17'), str('fake')]));
        else if (cmd === '1/17') reply(Buffer.alloc(32));
        else s.write(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]));
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const outputs: string[] = [];
  dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output));
  const terminated = dc.waitForEvent('terminated');
  await dc.initializeRequest({ adapterID: 'devlane', pathFormat: 'path' });
  await dc.attachRequest({ port: (server.address() as net.AddressInfo).port } as DebugProtocol.AttachRequestArguments);
  await assert.rejects(dc.setBreakpointsRequest({ source: { path: path.join(fixtureSourceRoot, 'demo/Main.java') }, breakpoints: [{ line: 3 }] }));
  await terminated;
  assert.ok(outputs.some((o) => /malformed packet/.test(o)), outputs.join(''));
});
