import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { decodeFrame, encodeFrame, Op, WINDOW } from '../../../dataplane/agent/frames';
import { Mux, type MuxChannel } from '../../../dataplane/agent/mux';

// Two ends wired back to back (asynchronously, like a socket), the agent side echoing through a PassThrough.
function wire(): { client: Mux; agentOpened: MuxChannel[] } {
  const agentOpened: MuxChannel[] = [];
  const ends: { agent?: Mux } = {};
  const client = new Mux((f) => setImmediate(() => ends.agent!.receive(f)));
  const agent = new Mux(
    (f) => setImmediate(() => client.receive(f)),
    (id, target) => {
      if (target.port === 1) return agent.refuse(id, 'connection refused');
      const ch = agent.accept(id);
      agentOpened.push(ch);
      const echo = new PassThrough();
      ch.pipe(echo).pipe(ch);
    },
  );
  ends.agent = agent;
  return { client, agentOpened };
}

test('frames round-trip; malformed ones are rejected', () => {
  const f = decodeFrame(encodeFrame(Op.Data, 0xfffffffe, Buffer.from('hi')));
  assert.deepEqual(f && { op: f.op, stream: f.stream, payload: f.payload.toString() }, { op: Op.Data, stream: 0xfffffffe, payload: 'hi' });
  assert.equal(decodeFrame(Buffer.from([4, 0, 0])), undefined);
  assert.equal(decodeFrame(Buffer.from([9, 0, 0, 0, 1])), undefined);
  assert.equal(decodeFrame(encodeFrame(Op.Credit, 1, Buffer.from([1]))), undefined);
  const deadline = Date.now() + 1_000;
  const m = new Mux(() => {}, () => {});
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
