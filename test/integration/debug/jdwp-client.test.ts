import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { JdwpClient } from '../../../debug-adapter/jdwp/client';
import { encodeCommand } from '../../../debug-adapter/jdwp/codec';
import type { EventSet } from '../../../debug-adapter/jdwp/events';
import { EventKind, SuspendPolicy } from '../../../debug-adapter/jdwp/protocol';
import { isDevlaneError, type DevlaneError } from '../../../extension/core/errors';
import { compileFixtures, lineOf, startJvm } from './support/jvm';

/** Collects event sets so a test can wait for the first one matching a predicate. */
function eventQueue(client: JdwpClient) {
  const seen: EventSet[] = [];
  const waiters = new Set<() => void>();
  client.onEvent((s) => {
    seen.push(s);
    for (const w of [...waiters]) w();
  });
  return (pred: (s: EventSet) => boolean, timeoutMs = 60_000) =>
    new Promise<EventSet>((resolve, reject) => {
      const check = () => {
        const i = seen.findIndex(pred);
        if (i >= 0) {
          waiters.delete(check);
          clearTimeout(t);
          resolve(seen.splice(i, 1)[0] as EventSet);
        }
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        reject(new Error('timed out waiting for a JDWP event'));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
}

test('JDWP client against a real JVM: handshake, class prepare, breakpoint, frames, locals, exit', async (t) => {
  const fx = compileFixtures();
  t.after(() => fx.dispose());
  const jvm = await startJvm({ classesDir: fx.classesDir, mainClass: 'demo.Main' });
  t.after(() => jvm.dispose());
  const client = await JdwpClient.connect({ host: '127.0.0.1', port: jvm.port });
  t.after(() => client.dispose());
  const next = eventQueue(client);

  assert.equal(client.sizes.objectId, 8);
  assert.ok(client.version.jdwpMajor >= 17, `JDWP version ${client.version.jdwpMajor}`);
  assert.equal(typeof client.capabilities.canRedefineClasses, 'boolean');
  await next((s) => s.events.some((e) => e.kind === 'vm-start'));

  // A second debugger on the same JVM is refused with a message saying so.
  await assert.rejects(JdwpClient.connect({ host: '127.0.0.1', port: jvm.port, handshakeTimeoutMs: 5_000 }), (e: unknown) => isDevlaneError(e) && /another debugger/i.test(e.message));

  const cp = await client.setEventRequest(EventKind.ClassPrepare, SuspendPolicy.EventThread, [{ kind: 'class-match', pattern: 'demo.Later' }]);
  await client.resumeVm();
  const prepared = await next((s) => s.events.some((e) => e.kind === 'class-prepare' && e.requestId === cp));
  const ev = prepared.events.find((e) => e.kind === 'class-prepare');
  assert.ok(ev?.kind === 'class-prepare');
  assert.equal(ev.signature, 'Ldemo/Later;');
  assert.equal(await client.sourceFile(ev.typeId), 'Later.java');

  const line = lineOf('demo/Later.java', 'greet');
  const methods = await client.methods(ev.typeId);
  const greet = methods.find((m) => m.name === 'greet');
  assert.ok(greet);
  const table = await client.lineTable(ev.typeId, greet.methodId);
  const entry = table.lines.find((l) => l.line === line);
  assert.ok(entry, `line ${line} in the line table`);
  const bp = await client.setEventRequest(EventKind.Breakpoint, SuspendPolicy.All, [{ kind: 'location-only', location: { typeTag: 1, classId: ev.typeId, methodId: greet.methodId, index: entry.index } }]);
  await client.resumeThread(ev.thread);

  const hit = await next((s) => s.events.some((e) => e.kind === 'breakpoint' && e.requestId === bp));
  const bpEvent = hit.events[0];
  assert.ok(bpEvent?.kind === 'breakpoint');
  assert.equal(await client.threadName(bpEvent.thread), 'main');
  const frames = await client.frames(bpEvent.thread, 0, -1);
  assert.equal(frames.length, 2, 'greet called from main');
  assert.equal(frames[0]?.location.methodId, greet.methodId);
  const vars = await client.variableTable(ev.typeId, greet.methodId);
  const who = vars.variables.find((v) => v.name === 'who');
  assert.ok(who);
  const [value] = await client.frameValues(bpEvent.thread, (frames[0] as { frameId: string }).frameId, [{ slot: who.slot, tag: 'L' }]);
  assert.ok(value && value.tag === 's');
  assert.equal(await client.stringValue(value.value as string), 'zucchini');

  const closed = new Promise<DevlaneError | undefined>((resolve) => client.onDidClose(resolve));
  await client.clearEventRequest(EventKind.Breakpoint, bp);
  await client.resumeVm();
  await jvm.waitForOutput('result=');
  const reason = await closed;
  assert.ok(reason && reason.reason === 'jdwp-protocol', 'the JVM exiting closes the connection with a reason');
  assert.equal(await jvm.exited, 0);
});

test('a malformed packet after the handshake closes the connection with a jdwp-protocol error', async (t) => {
  // The only peer that sends garbage on purpose is one we write: it answers the handshake and IDSizes
  // like a VM, then sends a packet whose length field is impossible.
  const server = net.createServer((s) => {
    let got = Buffer.alloc(0);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length === 14) s.write('JDWP-Handshake');
      if (got.length >= 14 + 11) {
        s.write(Buffer.from([0, 0, 0, 2, 0xde, 0xad, 0xbe, 0xef, 0x80, 0, 0]));
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as net.AddressInfo).port;
  await assert.rejects(JdwpClient.connect({ host: '127.0.0.1', port }), (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-protocol' && /malformed/.test(e.message));
});

test('a service that is not JDWP fails the handshake; an unexpected command ends the connection', async (t) => {
  const server = net.createServer((s) => {
    s.once('data', () => s.write('SSH-2.0-OpenSSH_9\r\n'));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as net.AddressInfo).port;
  await assert.rejects(JdwpClient.connect({ host: '127.0.0.1', port }), (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-handshake');

  const vmLike = net.createServer((s) => {
    s.once('data', () => {
      s.write('JDWP-Handshake');
      s.write(encodeCommand({ id: 5, commandSet: 2, command: 1, data: Buffer.alloc(0) }));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => vmLike.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => vmLike.close(() => r())));
  await assert.rejects(JdwpClient.connect({ host: '127.0.0.1', port: (vmLike.address() as net.AddressInfo).port }), (e: unknown) => isDevlaneError(e) && /unexpected command 2\/1/.test(e.message));
});

test('a request the VM never answers fails with a timeout at its own deadline', async (t) => {
  const server = net.createServer((s) => {
    s.once('data', () => s.write('JDWP-Handshake'));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  await assert.rejects(
    JdwpClient.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, setupTimeoutMs: 300 }),
    (e: unknown) => isDevlaneError(e) && e.reason === 'timeout' && /1\/7/.test(e.message),
  );
});
