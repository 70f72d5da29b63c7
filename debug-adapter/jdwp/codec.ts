import { DevlaneError } from '../../extension/core/errors';
import { HEADER_LENGTH, REPLY_FLAG, objectTags, valueTags, type ValueTag } from './protocol';

/**
 * Sizes of the variable-width IDs, from VirtualMachine.IDSizes. IDs are kept as lowercase hex
 * strings of exactly `size * 2` digits: HotSpot uses 8 bytes, which a JS number cannot hold, and a
 * string is usable as a Map key (a BigInt is too, but hex reads better in logs and tests).
 */
export interface IdSizes {
  readonly fieldId: number;
  readonly methodId: number;
  readonly objectId: number;
  readonly referenceTypeId: number;
  readonly frameId: number;
}

/** What every VM is asked with before IDSizes is known: the command only needs the header. */
export const defaultIdSizes: IdSizes = { fieldId: 8, methodId: 8, objectId: 8, referenceTypeId: 8, frameId: 8 };

export type ObjectId = string;
export type ReferenceTypeId = string;
export type MethodId = string;
export type FieldId = string;
export type FrameId = string;

export function nullId(size: number): string {
  return '0'.repeat(size * 2);
}
export function isNullId(id: string): boolean {
  return /^0*$/.test(id);
}

export interface Location {
  readonly typeTag: number;
  readonly classId: ReferenceTypeId;
  readonly methodId: MethodId;
  /** Code index (bytecode offset); u64 on the wire, always small in practice. */
  readonly index: bigint;
}

export type PrimitiveValue =
  | { readonly tag: 'Z'; readonly value: boolean }
  | { readonly tag: 'B' | 'C' | 'S' | 'I' | 'F' | 'D'; readonly value: number }
  | { readonly tag: 'J'; readonly value: bigint };
export type ObjectValue = { readonly tag: '[' | 'L' | 's' | 't' | 'g' | 'l' | 'c'; readonly value: ObjectId };
export type VoidValue = { readonly tag: 'V'; readonly value: undefined };
export type Value = PrimitiveValue | ObjectValue | VoidValue;

export function protocolError(message: string, detail?: string): DevlaneError {
  return new DevlaneError('jdwp-protocol', message, { detail });
}

/**
 * JDWP strings are UTF-8 in the spec but HotSpot sends modified UTF-8 (NUL as C0 80, supplementary
 * characters as two 3-byte surrogates) unless started with mutf8=y. This decoder accepts both and
 * turns anything else into U+FFFD instead of throwing, because a VM's string is data, not protocol.
 */
export function decodeJavaUtf8(bytes: Uint8Array): string {
  let out = '';
  let chunk: number[] = [];
  const flush = () => {
    out += String.fromCharCode(...chunk);
    chunk = [];
  };
  const cont = (i: number) => i < bytes.length && ((bytes[i] as number) & 0xc0) === 0x80;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      chunk.push(b);
      i += 1;
    } else if ((b & 0xe0) === 0xc0 && cont(i + 1)) {
      chunk.push(((b & 0x1f) << 6) | ((bytes[i + 1] as number) & 0x3f));
      i += 2;
    } else if ((b & 0xf0) === 0xe0 && cont(i + 1) && cont(i + 2)) {
      // Surrogate halves come through as separate code units and pair up in the JS string.
      chunk.push(((b & 0x0f) << 12) | (((bytes[i + 1] as number) & 0x3f) << 6) | ((bytes[i + 2] as number) & 0x3f));
      i += 3;
    } else if ((b & 0xf8) === 0xf0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      const cp = ((b & 0x07) << 18) | (((bytes[i + 1] as number) & 0x3f) << 12) | (((bytes[i + 2] as number) & 0x3f) << 6) | ((bytes[i + 3] as number) & 0x3f);
      const v = cp - 0x10000;
      chunk.push(0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
      i += 4;
    } else {
      chunk.push(0xfffd);
      i += 1;
    }
    if (chunk.length >= 4096) flush();
  }
  flush();
  return out;
}

/** Reads one packet's data. Every read is bounds-checked: a short packet is a protocol error. */
export class PacketReader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly sizes: IdSizes,
    private readonly what = 'packet',
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): number {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw protocolError(`The JVM sent a malformed ${this.what}: it ended after ${this.buf.length} bytes while ${n} more were expected at offset ${this.pos}.`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.need(1));
  }
  bool(): boolean {
    return this.u8() !== 0;
  }
  u16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  i16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  i32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  i64(): bigint {
    return this.buf.readBigInt64BE(this.need(8));
  }
  u64(): bigint {
    return this.buf.readBigUInt64BE(this.need(8));
  }
  f32(): number {
    return this.buf.readFloatBE(this.need(4));
  }
  f64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  /** A count that is about to drive a loop: negative or impossible counts are malformed data. */
  count(minBytesEach = 1): number {
    const n = this.i32();
    if (n < 0 || n * minBytesEach > this.remaining) throw protocolError(`The JVM sent a malformed ${this.what}: a count of ${n} does not fit the ${this.remaining} bytes left.`);
    return n;
  }
  string(): string {
    const n = this.u32();
    const at = this.need(n);
    return decodeJavaUtf8(this.buf.subarray(at, at + n));
  }
  bytes(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  id(size: number): string {
    return this.bytes(size).toString('hex');
  }
  objectId(): ObjectId {
    return this.id(this.sizes.objectId);
  }
  referenceTypeId(): ReferenceTypeId {
    return this.id(this.sizes.referenceTypeId);
  }
  methodId(): MethodId {
    return this.id(this.sizes.methodId);
  }
  fieldId(): FieldId {
    return this.id(this.sizes.fieldId);
  }
  frameId(): FrameId {
    return this.id(this.sizes.frameId);
  }
  location(): Location {
    return { typeTag: this.u8(), classId: this.referenceTypeId(), methodId: this.methodId(), index: this.u64() };
  }
  tag(): ValueTag {
    const t = String.fromCharCode(this.u8());
    if (!valueTags.has(t)) throw protocolError(`The JVM sent a malformed ${this.what}: unknown value tag ${JSON.stringify(t)}.`);
    return t as ValueTag;
  }
  value(): Value {
    return this.untaggedValue(this.tag());
  }
  taggedObjectId(): ObjectValue {
    const t = this.tag();
    if (!objectTags.has(t)) throw protocolError(`The JVM sent a malformed ${this.what}: expected an object tag, got ${JSON.stringify(t)}.`);
    return { tag: t as ObjectValue['tag'], value: this.objectId() };
  }
  untaggedValue(tag: ValueTag): Value {
    switch (tag) {
      case 'Z':
        return { tag, value: this.bool() };
      case 'B':
        return { tag, value: this.buf.readInt8(this.need(1)) };
      case 'C':
        return { tag, value: this.u16() };
      case 'S':
        return { tag, value: this.i16() };
      case 'I':
        return { tag, value: this.i32() };
      case 'F':
        return { tag, value: this.f32() };
      case 'D':
        return { tag, value: this.f64() };
      case 'J':
        return { tag, value: this.i64() };
      case 'V':
        return { tag, value: undefined };
      default:
        return { tag, value: this.objectId() };
    }
  }
}

/** Builds a command's data. */
export class PacketWriter {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly sizes: IdSizes) {}

  private push(b: Buffer): this {
    this.chunks.push(b);
    this.size += b.length;
    return this;
  }
  u8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeUInt8(v);
    return this.push(b);
  }
  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.push(b);
  }
  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt.asIntN(64, v));
    return this.push(b);
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return this.push(b);
  }
  string(s: string): this {
    const data = Buffer.from(s, 'utf8');
    const b = Buffer.alloc(4);
    b.writeUInt32BE(data.length);
    return this.push(b).push(data);
  }
  raw(b: Buffer): this {
    return this.push(b);
  }
  id(id: string, size: number): this {
    if (!/^[0-9a-f]*$/i.test(id) || id.length > size * 2) throw new DevlaneError('invalid-input', `"${id}" is not a ${size}-byte JDWP ID.`);
    return this.push(Buffer.from(id.padStart(size * 2, '0'), 'hex'));
  }
  objectId(id: ObjectId): this {
    return this.id(id, this.sizes.objectId);
  }
  referenceTypeId(id: ReferenceTypeId): this {
    return this.id(id, this.sizes.referenceTypeId);
  }
  methodId(id: MethodId): this {
    return this.id(id, this.sizes.methodId);
  }
  fieldId(id: FieldId): this {
    return this.id(id, this.sizes.fieldId);
  }
  frameId(id: FrameId): this {
    return this.id(id, this.sizes.frameId);
  }
  location(l: Location): this {
    return this.u8(l.typeTag).referenceTypeId(l.classId).methodId(l.methodId).u64(l.index);
  }
  value(v: Value): this {
    this.u8(v.tag.charCodeAt(0));
    return this.untaggedValue(v);
  }
  untaggedValue(v: Value): this {
    switch (v.tag) {
      case 'Z':
        return this.bool(v.value);
      case 'B': {
        const b = Buffer.alloc(1);
        b.writeInt8(v.value);
        return this.push(b);
      }
      case 'C': {
        const b = Buffer.alloc(2);
        b.writeUInt16BE(v.value);
        return this.push(b);
      }
      case 'S': {
        const b = Buffer.alloc(2);
        b.writeInt16BE(v.value);
        return this.push(b);
      }
      case 'I':
        return this.i32(v.value);
      case 'F': {
        const b = Buffer.alloc(4);
        b.writeFloatBE(v.value);
        return this.push(b);
      }
      case 'D': {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(v.value);
        return this.push(b);
      }
      case 'J':
        return this.i64(v.value);
      case 'V':
        return this;
      default:
        return this.objectId(v.value);
    }
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

export interface CommandPacket {
  readonly id: number;
  readonly commandSet: number;
  readonly command: number;
  readonly data: Buffer;
}
export interface ReplyPacket {
  readonly id: number;
  readonly errorCode: number;
  readonly data: Buffer;
}
export type Packet = ({ readonly kind: 'command' } & CommandPacket) | ({ readonly kind: 'reply' } & ReplyPacket);

export function encodeCommand(p: CommandPacket): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH + p.data.length);
  b.writeUInt32BE(b.length, 0);
  b.writeUInt32BE(p.id >>> 0, 4);
  b.writeUInt8(0, 8);
  b.writeUInt8(p.commandSet, 9);
  b.writeUInt8(p.command, 10);
  p.data.copy(b, HEADER_LENGTH);
  return b;
}

export function encodeReply(p: ReplyPacket): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH + p.data.length);
  b.writeUInt32BE(b.length, 0);
  b.writeUInt32BE(p.id >>> 0, 4);
  b.writeUInt8(REPLY_FLAG, 8);
  b.writeUInt16BE(p.errorCode, 9);
  p.data.copy(b, HEADER_LENGTH);
  return b;
}

/**
 * Splits a byte stream into packets. Bytes are buffered until a whole packet arrived; a length
 * field that cannot be a packet (shorter than a header, or beyond `maxPacket`) is a protocol error,
 * because nothing after it can be framed.
 */
export class PacketFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  constructor(private readonly maxPacket = 256 * 1024 * 1024) {}

  push(chunk: Buffer): Packet[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: Packet[] = [];
    for (;;) {
      if (this.pendingBytes < HEADER_LENGTH) return out;
      if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
      const buf = this.pending[0] as Buffer;
      const length = buf.readUInt32BE(0);
      if (length < HEADER_LENGTH || length > this.maxPacket) {
        throw protocolError(`The JVM sent a malformed packet: its length field says ${length} bytes.`, `first bytes: ${buf.subarray(0, Math.min(32, buf.length)).toString('hex')}`);
      }
      if (this.pendingBytes < length) return out;
      const id = buf.readUInt32BE(4);
      const flags = buf.readUInt8(8);
      const data = Buffer.from(buf.subarray(HEADER_LENGTH, length));
      if (flags & REPLY_FLAG) out.push({ kind: 'reply', id, errorCode: buf.readUInt16BE(9), data });
      else out.push({ kind: 'command', id, commandSet: buf.readUInt8(9), command: buf.readUInt8(10), data });
      const rest = buf.subarray(length);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
    }
  }
}
