import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { AGENT_STREAM_BIT, decodeFrame, encodeFrame, Op, WINDOW } from '../../../dataplane/agent/frames';
import { Mux, type MuxChannel } from '../../../dataplane/agent/mux';

// Two ends wired back to back (asynchronously, like a socket), the agent side echoing through a PassThrough.
function wire(): { client: Mux; agentOpened: MuxChannel[] } {
  const agentOpened: MuxChannel[] = [];
  const ends: { agent?: Mux } = {};
  const client = new Mux((f) => setImmediate(() => ends.agent!.receive(f)));
  const agent = new Mux(
    (f) => setImmediate(() => client.receive(f)),
    {
      onOpen: (id, target) => {
        if (target.port === 1) return agent.refuse(id, 'connection refused');
        const ch = agent.accept(id);
        agentOpened.push(ch);
        const echo = new PassThrough();
        ch.pipe(echo).pipe(ch);
      },
    },
    'agent',
  );
  ends.agent = agent;
  return { client, agentOpened };
}

test('frames round-trip; malformed ones are rejected', () => {
  const f = decodeFrame(encodeFrame(Op.Data, 0xfffffffe, Buffer.from('hi')));
  assert.deepEqual(f && { op: f.op, stream: f.stream, payload: f.payload.toString() }, { op: Op.Data, stream: 0xfffffffe, payload: 'hi' });
  assert.equal(decodeFrame(Buffer.from([4, 0, 0])), undefined);
  assert.equal(decodeFrame(Buffer.from([12, 0, 0, 0, 1])), undefined);
  assert.equal(decodeFrame(encodeFrame(Op.Credit, 1, Buffer.from([1]))), undefined);
  const deadline = Date.now() + 1_000;
  const m = new Mux(() => {}, { onOpen: () => {}, onInbound: () => {}, onListen: () => {}, onUnlisten: () => {} });
  while (Date.now() < deadline) m.receive(randomBytes(Math.floor(Math.random() * 12)));
});

test('open, echo more than the window with credits, half-close, refuse', async () => {
  const { client, agentOpened } = wire();
  const ch = await client.open({ host: 'svc', port: 80 });
  assert.equal(agentOpened.length, 1);
  const data = randomBytes(3 * WINDOW + 12345);
  const got: Buffer[] = [];
  const done = new Promise<void>((r) => ch.on('end', r));
  ch.on('data', (d: Buffer) => got.push(d));
  ch.end(data);
  await done;
  assert.ok(Buffer.concat(got).equals(data));
  await assert.rejects(client.open({ host: 'svc', port: 1 }), /connection refused/);
});

test('closing the connection ends every stream and pending open', async () => {
  const { client } = wire();
  const ch = await client.open({ host: 'svc', port: 80 });
  const closed = new Promise<void>((r) => ch.on('close', r));
  const pending = client.open({ host: 'svc', port: 80 });
  client.close();
  await closed;
  await assert.rejects(pending);
  assert.equal(client.size, 0);
});

// The inbound direction: the data plane asks for a listener, the agent opens streams on it.
function wireInbound(): { dataplane: Mux; agent: Mux; listens: { listener: number; port: number }[]; unlistened: number[]; inbound: { id: number; listener: number; from: string }[] } {
  const listens: { listener: number; port: number }[] = [];
  const unlistened: number[] = [];
  const inbound: { id: number; listener: number; from: string }[] = [];
  const ends: { agent?: Mux } = {};
  const dataplane: Mux = new Mux((f) => setImmediate(() => ends.agent!.receive(f)), {
    onInbound: (id, i) => {
      inbound.push({ id, ...i });
      if (i.listener === 99) return dataplane.refuse(id, 'local port refused');
      // The laptop's end: an echo.
      const ch = dataplane.accept(id);
      const echo = new PassThrough();
      ch.pipe(echo).pipe(ch);
    },
  });
  const agent: Mux = new Mux(
    (f) => setImmediate(() => dataplane.receive(f)),
    {
      onListen: (listener, at) => {
        if (at.port === 22) return agent.unlisten(listener, 'EADDRINUSE');
        listens.push({ listener, port: at.port || 40000 + listener });
        agent.listening(listener, at.port || 40000 + listener);
      },
      onUnlisten: (listener) => unlistened.push(listener),
    },
    'agent',
  );
  ends.agent = agent;
  return { dataplane, agent, listens, unlistened, inbound };
}

test('listen, inbound streams in the agent half of the id space with credits and half-close, unlisten', async () => {
  const { dataplane, agent, unlistened, inbound } = wireInbound();
  const bound = await dataplane.listen({ host: '0.0.0.0', port: 0 });
  assert.equal(bound.port, 40000 + bound.listener);
  await assert.rejects(dataplane.listen({ host: '0.0.0.0', port: 22 }), /EADDRINUSE/);
  const ch = await agent.inbound(bound.listener, '10.244.1.5:5555');
  assert.ok((ch.id & AGENT_STREAM_BIT) !== 0);
  assert.deepEqual(inbound.map((i) => ({ listener: i.listener, from: i.from })), [{ listener: bound.listener, from: '10.244.1.5:5555' }]);
  const data = randomBytes(2 * WINDOW + 777);
  const got: Buffer[] = [];
  const done = new Promise<void>((r) => ch.on('end', r));
  ch.on('data', (d: Buffer) => got.push(d));
  ch.end(data);
  await done;
  assert.ok(Buffer.concat(got).equals(data));
  // The laptop refusing the connection fails the agent's open (the agent then closes the socket).
  await assert.rejects(agent.inbound(99, ''), /local port refused/);
  dataplane.unlisten(bound.listener);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(unlistened, [bound.listener]);
});

test('a peer opening a stream id from the wrong half, or an unknown op, is a protocol error', () => {
  const { dataplane, agent } = wireInbound();
  assert.equal(dataplane.receive(encodeFrame(Op.Inbound, 5, Buffer.from(JSON.stringify({ listener: 1, from: '' })))), false);
  assert.equal(agent.receive(encodeFrame(Op.Listen, 1, Buffer.from('{"host":"0.0.0.0","port":70000}'))), false);
  assert.equal(dataplane.receive(Buffer.from([12, 0, 0, 0, 1])), false);
  assert.equal(dataplane.receive(encodeFrame(Op.Listening, 1, Buffer.from('{"port":0}'))), false);
});

test('closing the connection fails pending listens', async () => {
  const dataplane = new Mux(() => {});
  const pending = dataplane.listen({ host: '0.0.0.0', port: 8080 });
  dataplane.close();
  await assert.rejects(pending, /closed/);
  await assert.rejects(dataplane.listen({ host: '0.0.0.0', port: 8080 }), /closed/);
});
