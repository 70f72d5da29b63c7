import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { PacketFramer, PacketReader, PacketWriter, decodeJavaUtf8, encodeCommand, encodeReply, type IdSizes, type Value } from '../../../debug-adapter/jdwp/codec';
import { decodeComposite } from '../../../debug-adapter/jdwp/events';
import { isDevlaneError } from '../../../extension/core/errors';

const hotspot: IdSizes = { fieldId: 8, methodId: 8, objectId: 8, referenceTypeId: 8, frameId: 8 };
const small: IdSizes = { fieldId: 4, methodId: 4, objectId: 4, referenceTypeId: 4, frameId: 4 };

function roundTrip(v: Value, sizes = hotspot): Value {
  return new PacketReader(new PacketWriter(sizes).value(v).toBuffer(), sizes).value();
}

test('tagged values survive a round trip, including 64-bit longs and IDs', () => {
  const values: Value[] = [
    { tag: 'Z', value: true },
    { tag: 'B', value: -5 },
    { tag: 'C', value: 'x'.charCodeAt(0) },
    { tag: 'S', value: -300 },
    { tag: 'I', value: -123456 },
    { tag: 'J', value: -9007199254740993n },
    { tag: 'F', value: 0.5 },
    { tag: 'D', value: Math.PI },
    { tag: 'L', value: 'ffeeddccbbaa9988' },
    { tag: 's', value: '0000000000000001' },
    { tag: 'V', value: undefined },
  ];
  for (const v of values) assert.deepEqual(roundTrip(v), v);
  assert.deepEqual(roundTrip({ tag: '[', value: 'deadbeef' }, small), { tag: '[', value: 'deadbeef' });
});

test('short IDs are left-padded to the VM ID size; non-hex IDs are refused', () => {
  assert.equal(new PacketWriter(hotspot).objectId('1f').toBuffer().toString('hex'), '000000000000001f');
  assert.throws(() => new PacketWriter(hotspot).objectId('xyz'), (e: unknown) => isDevlaneError(e) && e.reason === 'invalid-input');
});

test('locations carry the u64 code index', () => {
  const loc = { typeTag: 1, classId: '00000000000000aa', methodId: '00000000000000bb', index: 17n };
  const b = new PacketWriter(hotspot).location(loc).toBuffer();
  assert.equal(b.length, 1 + 8 + 8 + 8);
  assert.deepEqual(new PacketReader(b, hotspot).location(), loc);
});

test('strings decode standard UTF-8, modified UTF-8 and garbage without throwing', () => {
  assert.equal(decodeJavaUtf8(Buffer.from('héllo wörld', 'utf8')), 'héllo wörld');
  // Modified UTF-8: NUL as C0 80, U+1F600 as a CESU-8 surrogate pair.
  assert.equal(decodeJavaUtf8(Buffer.from([0x61, 0xc0, 0x80, 0x62])), 'a\u0000b');
  assert.equal(decodeJavaUtf8(Buffer.from([0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80])), '\u{1F600}');
  assert.equal(decodeJavaUtf8(Buffer.from('\u{1F600}', 'utf8')), '\u{1F600}');
  assert.equal(decodeJavaUtf8(Buffer.from([0x61, 0xff, 0xe2, 0x82])), 'a\ufffd\ufffd\ufffd');
  const w = new PacketWriter(hotspot).string('größe').toBuffer();
  assert.equal(w.readUInt32BE(0), Buffer.byteLength('größe'), 'length counts bytes, not UTF-16 units');
  assert.equal(new PacketReader(w, hotspot).string(), 'größe');
});

test('a truncated packet is a jdwp-protocol error, not a RangeError', () => {
  const r = new PacketReader(Buffer.from([0, 0, 0, 9, 0x61]), hotspot, 'Version reply');
  assert.throws(
    () => r.string(),
    (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-protocol' && /Version reply/.test(e.message),
  );
  assert.throws(() => new PacketReader(Buffer.from([0x51]), hotspot).value(), (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-protocol');
  assert.throws(() => new PacketReader(Buffer.from([0x7f, 0xff, 0xff, 0xff]), hotspot).count(), (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-protocol');
});

test('the framer reassembles packets split and merged across chunks', () => {
  const a = encodeCommand({ id: 1, commandSet: 64, command: 100, data: Buffer.from([1, 2, 3]) });
  const b = encodeReply({ id: 7, errorCode: 101, data: Buffer.alloc(0) });
  const c = encodeReply({ id: 8, errorCode: 0, data: Buffer.from('abcdef') });
  const all = Buffer.concat([a, b, c]);
  const framer = new PacketFramer();
  const got = [];
  for (let i = 0; i < all.length; i += 5) got.push(...framer.push(all.subarray(i, i + 5)));
  assert.deepEqual(
    got.map((p) => (p.kind === 'command' ? `cmd ${p.id} ${p.commandSet}/${p.command} ${p.data.toString('hex')}` : `reply ${p.id} ${p.errorCode} ${p.data.toString()}`)),
    ['cmd 1 64/100 010203', 'reply 7 101 ', 'reply 8 0 abcdef'],
  );
});

test('an impossible length field is a protocol error', () => {
  const bad = Buffer.from([0, 0, 0, 3, 0, 0, 0, 1, 0, 1, 1]);
  assert.throws(() => new PacketFramer().push(bad), (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-protocol');
  const huge = Buffer.from([0x7f, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1]);
  assert.throws(() => new PacketFramer(1024).push(huge), (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-protocol');
});

test('composite events decode breakpoint, class prepare and exception events', () => {
  const loc = { typeTag: 1, classId: '00000000000000aa', methodId: '00000000000000bb', index: 4n };
  const w = new PacketWriter(hotspot).u8(2).i32(3);
  w.u8(2).i32(11).objectId('01').location(loc);
  w.u8(8).i32(12).objectId('01').u8(1).referenceTypeId('aa').string('Ldemo/Main$Inner;').i32(7);
  w.u8(4).i32(13).objectId('02').location(loc).u8('L'.charCodeAt(0)).objectId('0c').location({ typeTag: 0, classId: '0', methodId: '0', index: 0n });
  const set = decodeComposite(w.toBuffer(), hotspot);
  assert.equal(set.suspendPolicy, 2);
  assert.deepEqual(
    set.events.map((e) => `${e.kind}#${e.requestId}`),
    ['breakpoint#11', 'class-prepare#12', 'exception#13'],
  );
  const cp = set.events[1];
  assert.ok(cp?.kind === 'class-prepare' && cp.signature === 'Ldemo/Main$Inner;' && cp.typeId === '00000000000000aa');
  const ex = set.events[2];
  assert.ok(ex?.kind === 'exception' && ex.exception.value === '000000000000000c' && /^0+$/.test(ex.catchLocation.classId));
});

test('an unknown event kind or trailing bytes make the event packet malformed', () => {
  const unknown = new PacketWriter(hotspot).u8(0).i32(1).u8(77).i32(1).toBuffer();
  assert.throws(() => decodeComposite(unknown, hotspot), (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-protocol' && /kind 77/.test(e.message));
  const trailing = new PacketWriter(hotspot).u8(0).i32(1).u8(99).i32(0).u8(1).toBuffer();
  assert.throws(() => decodeComposite(trailing, hotspot), (e: unknown) => isDevlaneError(e) && e.reason === 'jdwp-protocol');
});
