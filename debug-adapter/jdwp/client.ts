import type { Disposable } from '../../extension/core/events';
import type { Logger } from '../../extension/core/log';
import { PacketReader, PacketWriter, type FieldId, type FrameId, type IdSizes, type Location, type MethodId, type ObjectId, type ObjectValue, type ReferenceTypeId, type Value } from './codec';
import { JdwpConnection, type ConnectOptions } from './connection';
import type { EventSet } from './events';
import { CommandSet, type SuspendPolicyValue } from './protocol';

export interface VmVersion {
  readonly description: string;
  readonly jdwpMajor: number;
  readonly jdwpMinor: number;
  readonly vmVersion: string;
  readonly vmName: string;
}

/** The CapabilitiesNew flags Devlane looks at (spec order). */
export interface Capabilities {
  readonly canRedefineClasses: boolean;
  readonly canUseSourceNameFilters: boolean;
  readonly canPopFrames: boolean;
  readonly canGetMonitorInfo: boolean;
}

export interface ClassInfo {
  readonly refTypeTag: number;
  readonly typeId: ReferenceTypeId;
  readonly signature: string;
  readonly status: number;
}
export interface MethodInfo {
  readonly methodId: MethodId;
  readonly name: string;
  readonly signature: string;
  readonly modBits: number;
}
export interface FieldInfo {
  readonly fieldId: FieldId;
  readonly name: string;
  readonly signature: string;
  readonly modBits: number;
}
export interface LineTable {
  readonly start: bigint;
  readonly end: bigint;
  readonly lines: readonly { readonly index: bigint; readonly line: number }[];
}
export interface VariableInfo {
  readonly codeIndex: bigint;
  readonly name: string;
  readonly signature: string;
  readonly length: number;
  readonly slot: number;
}
export interface FrameInfo {
  readonly frameId: FrameId;
  readonly location: Location;
}
export interface InvokeResult {
  readonly value: Value;
  readonly exception: ObjectValue;
}

/** Event request modifiers (EventRequest.Set). */
export type Modifier =
  | { readonly kind: 'count'; readonly count: number }
  | { readonly kind: 'thread-only'; readonly thread: ObjectId }
  | { readonly kind: 'class-only'; readonly classId: ReferenceTypeId }
  | { readonly kind: 'class-match' | 'class-exclude'; readonly pattern: string }
  | { readonly kind: 'location-only'; readonly location: Location }
  | { readonly kind: 'exception-only'; readonly classId: ReferenceTypeId; readonly caught: boolean; readonly uncaught: boolean }
  | { readonly kind: 'step'; readonly thread: ObjectId; readonly size: number; readonly depth: number }
  | { readonly kind: 'source-name-match'; readonly pattern: string };

/**
 * Typed JDWP commands over one connection. Nothing here knows about DAP or VS Code; the DAP session
 * (debug-adapter/dap) and the tests use it directly.
 */
export class JdwpClient implements Disposable {
  private constructor(
    readonly connection: JdwpConnection,
    readonly sizes: IdSizes,
    readonly version: VmVersion,
    readonly capabilities: Capabilities,
  ) {}

  /** Connects, shakes hands, and learns ID sizes, version and capabilities. */
  static async connect(opts: ConnectOptions): Promise<JdwpClient> {
    const conn = await JdwpConnection.connect(opts);
    try {
      const setup = opts.setupTimeoutMs;
      const sizesReply = new PacketReader(await conn.send(CommandSet.VirtualMachine, 7, undefined, setup), conn.sizes, 'IDSizes reply');
      const sizes: IdSizes = { fieldId: sizesReply.i32(), methodId: sizesReply.i32(), objectId: sizesReply.i32(), referenceTypeId: sizesReply.i32(), frameId: sizesReply.i32() };
      conn.sizes = sizes;
      const [v, c] = await Promise.all([conn.send(CommandSet.VirtualMachine, 1, undefined, setup), conn.send(CommandSet.VirtualMachine, 17, undefined, setup)]);
      const vr = new PacketReader(v, sizes, 'Version reply');
      const version: VmVersion = { description: vr.string(), jdwpMajor: vr.i32(), jdwpMinor: vr.i32(), vmVersion: vr.string(), vmName: vr.string() };
      const cr = new PacketReader(c, sizes, 'Capabilities reply');
      const flags: boolean[] = [];
      for (let i = 0; i < 21 && cr.remaining > 0; i++) flags.push(cr.bool());
      const capabilities: Capabilities = {
        canGetMonitorInfo: flags[6] ?? false,
        canRedefineClasses: flags[7] ?? false,
        canPopFrames: flags[10] ?? false,
        canUseSourceNameFilters: flags[18] ?? false,
      };
      return new JdwpClient(conn, sizes, version, capabilities);
    } catch (e) {
      conn.dispose();
      throw e;
    }
  }

  get onEvent() {
    return this.connection.onEvent;
  }
  get onDidClose() {
    return this.connection.onDidClose;
  }

  private w(): PacketWriter {
    return new PacketWriter(this.sizes);
  }
  private async call(set: number, cmd: number, w?: PacketWriter, what = `reply to ${set}/${cmd}`, timeoutMs?: number): Promise<PacketReader> {
    return new PacketReader(await this.connection.send(set, cmd, w?.toBuffer(), timeoutMs), this.sizes, what);
  }

  // VirtualMachine
  async idSizes(): Promise<void> {
    await this.call(1, 7);
  }
  async classesBySignature(signature: string): Promise<ClassInfo[]> {
    const r = await this.call(1, 2, this.w().string(signature));
    const n = r.count();
    const out: ClassInfo[] = [];
    for (let i = 0; i < n; i++) out.push({ refTypeTag: r.u8(), typeId: r.referenceTypeId(), signature, status: r.i32() });
    return out;
  }
  async allClasses(): Promise<ClassInfo[]> {
    const r = await this.call(1, 3);
    const n = r.count();
    const out: ClassInfo[] = [];
    for (let i = 0; i < n; i++) out.push({ refTypeTag: r.u8(), typeId: r.referenceTypeId(), signature: r.string(), status: r.i32() });
    return out;
  }
  async allThreads(): Promise<ObjectId[]> {
    const r = await this.call(1, 4);
    const n = r.count();
    const out: ObjectId[] = [];
    for (let i = 0; i < n; i++) out.push(r.objectId());
    return out;
  }
  async disposeVm(): Promise<void> {
    await this.call(1, 6, undefined, undefined, 3_000);
  }
  async suspendVm(): Promise<void> {
    await this.call(1, 8);
  }
  async resumeVm(): Promise<void> {
    await this.call(1, 9);
  }
  async createString(s: string): Promise<ObjectId> {
    return (await this.call(1, 11, this.w().string(s))).objectId();
  }
  async redefineClasses(classes: readonly { readonly typeId: ReferenceTypeId; readonly bytes: Buffer }[]): Promise<void> {
    const w = this.w().i32(classes.length);
    for (const c of classes) w.referenceTypeId(c.typeId).i32(c.bytes.length).raw(c.bytes);
    await this.call(1, 18, w, undefined, 60_000);
  }

  // ReferenceType
  async signature(type: ReferenceTypeId): Promise<string> {
    return (await this.call(2, 1, this.w().referenceTypeId(type))).string();
  }
  async fields(type: ReferenceTypeId): Promise<FieldInfo[]> {
    const r = await this.call(2, 4, this.w().referenceTypeId(type));
    const n = r.count();
    const out: FieldInfo[] = [];
    for (let i = 0; i < n; i++) out.push({ fieldId: r.fieldId(), name: r.string(), signature: r.string(), modBits: r.i32() });
    return out;
  }
  async methods(type: ReferenceTypeId): Promise<MethodInfo[]> {
    const r = await this.call(2, 5, this.w().referenceTypeId(type));
    const n = r.count();
    const out: MethodInfo[] = [];
    for (let i = 0; i < n; i++) out.push({ methodId: r.methodId(), name: r.string(), signature: r.string(), modBits: r.i32() });
    return out;
  }
  async staticValues(type: ReferenceTypeId, fields: readonly FieldId[]): Promise<Value[]> {
    const w = this.w().referenceTypeId(type).i32(fields.length);
    for (const f of fields) w.fieldId(f);
    const r = await this.call(2, 6, w);
    const n = r.count();
    const out: Value[] = [];
    for (let i = 0; i < n; i++) out.push(r.value());
    return out;
  }
  async sourceFile(type: ReferenceTypeId): Promise<string> {
    return (await this.call(2, 7, this.w().referenceTypeId(type))).string();
  }
  async interfaces(type: ReferenceTypeId): Promise<ReferenceTypeId[]> {
    const r = await this.call(2, 10, this.w().referenceTypeId(type));
    const n = r.count();
    const out: ReferenceTypeId[] = [];
    for (let i = 0; i < n; i++) out.push(r.referenceTypeId());
    return out;
  }

  // ClassType
  async superclass(type: ReferenceTypeId): Promise<ReferenceTypeId> {
    return (await this.call(3, 1, this.w().referenceTypeId(type))).referenceTypeId();
  }
  async setStaticValues(type: ReferenceTypeId, values: readonly { readonly fieldId: FieldId; readonly value: Value }[]): Promise<void> {
    const w = this.w().referenceTypeId(type).i32(values.length);
    for (const v of values) w.fieldId(v.fieldId).untaggedValue(v.value);
    await this.call(3, 2, w);
  }

  // Method
  async lineTable(type: ReferenceTypeId, method: MethodId): Promise<LineTable> {
    const r = await this.call(6, 1, this.w().referenceTypeId(type).methodId(method));
    const start = r.i64();
    const end = r.i64();
    const n = r.count(12);
    const lines: { index: bigint; line: number }[] = [];
    for (let i = 0; i < n; i++) lines.push({ index: r.i64(), line: r.i32() });
    return { start, end, lines };
  }
  async variableTable(type: ReferenceTypeId, method: MethodId): Promise<{ argCount: number; variables: VariableInfo[] }> {
    const r = await this.call(6, 2, this.w().referenceTypeId(type).methodId(method));
    const argCount = r.i32();
    const n = r.count();
    const variables: VariableInfo[] = [];
    for (let i = 0; i < n; i++) variables.push({ codeIndex: r.i64(), name: r.string(), signature: r.string(), length: r.i32(), slot: r.i32() });
    return { argCount, variables };
  }

  // ObjectReference
  async referenceType(object: ObjectId): Promise<{ refTypeTag: number; typeId: ReferenceTypeId }> {
    const r = await this.call(9, 1, this.w().objectId(object));
    return { refTypeTag: r.u8(), typeId: r.referenceTypeId() };
  }
  async objectValues(object: ObjectId, fields: readonly FieldId[]): Promise<Value[]> {
    const w = this.w().objectId(object).i32(fields.length);
    for (const f of fields) w.fieldId(f);
    const r = await this.call(9, 2, w);
    const n = r.count();
    const out: Value[] = [];
    for (let i = 0; i < n; i++) out.push(r.value());
    return out;
  }
  async setObjectValues(object: ObjectId, values: readonly { readonly fieldId: FieldId; readonly value: Value }[]): Promise<void> {
    const w = this.w().objectId(object).i32(values.length);
    for (const v of values) w.fieldId(v.fieldId).untaggedValue(v.value);
    await this.call(9, 3, w);
  }
  /** Runs a method in the VM on a thread suspended by an event; `timeoutMs` is the watchdog. */
  async invokeMethod(object: ObjectId, thread: ObjectId, clazz: ReferenceTypeId, method: MethodId, args: readonly Value[], options: number, timeoutMs: number): Promise<InvokeResult> {
    const w = this.w().objectId(object).objectId(thread).referenceTypeId(clazz).methodId(method).i32(args.length);
    for (const a of args) w.value(a);
    w.i32(options);
    const r = await this.call(9, 6, w, 'InvokeMethod reply', timeoutMs);
    return { value: r.value(), exception: r.taggedObjectId() };
  }
  async disableCollection(object: ObjectId): Promise<void> {
    await this.call(9, 7, this.w().objectId(object));
  }
  async enableCollection(object: ObjectId): Promise<void> {
    await this.call(9, 8, this.w().objectId(object));
  }

  // StringReference
  async stringValue(object: ObjectId): Promise<string> {
    return (await this.call(10, 1, this.w().objectId(object))).string();
  }

  // ThreadReference
  async threadName(thread: ObjectId): Promise<string> {
    return (await this.call(11, 1, this.w().objectId(thread))).string();
  }
  async suspendThread(thread: ObjectId): Promise<void> {
    await this.call(11, 2, this.w().objectId(thread));
  }
  async resumeThread(thread: ObjectId): Promise<void> {
    await this.call(11, 3, this.w().objectId(thread));
  }
  async threadStatus(thread: ObjectId): Promise<{ threadStatus: number; suspendStatus: number }> {
    const r = await this.call(11, 4, this.w().objectId(thread));
    return { threadStatus: r.i32(), suspendStatus: r.i32() };
  }
  /** `length` -1 means all frames from `start`. */
  async frames(thread: ObjectId, start: number, length: number): Promise<FrameInfo[]> {
    const r = await this.call(11, 6, this.w().objectId(thread).i32(start).i32(length));
    const n = r.count();
    const out: FrameInfo[] = [];
    for (let i = 0; i < n; i++) out.push({ frameId: r.frameId(), location: r.location() });
    return out;
  }
  async frameCount(thread: ObjectId): Promise<number> {
    return (await this.call(11, 7, this.w().objectId(thread))).i32();
  }
  async suspendCount(thread: ObjectId): Promise<number> {
    return (await this.call(11, 12, this.w().objectId(thread))).i32();
  }

  // ArrayReference
  async arrayLength(array: ObjectId): Promise<number> {
    return (await this.call(13, 1, this.w().objectId(array))).i32();
  }
  /** Primitive arrays come back untagged after one region tag; object arrays come tagged. */
  async arrayValues(array: ObjectId, first: number, length: number): Promise<Value[]> {
    const r = await this.call(13, 2, this.w().objectId(array).i32(first).i32(length));
    const tag = r.tag();
    const n = r.count();
    const out: Value[] = [];
    const tagged = tag === 'L' || tag === '[' || tag === 's' || tag === 't' || tag === 'g' || tag === 'l' || tag === 'c';
    for (let i = 0; i < n; i++) out.push(tagged ? r.value() : r.untaggedValue(tag));
    return out;
  }
  async setArrayValues(array: ObjectId, first: number, values: readonly Value[]): Promise<void> {
    const w = this.w().objectId(array).i32(first).i32(values.length);
    for (const v of values) w.untaggedValue(v);
    await this.call(13, 3, w);
  }

  // EventRequest
  async setEventRequest(eventKind: number, suspendPolicy: SuspendPolicyValue, modifiers: readonly Modifier[]): Promise<number> {
    const w = this.w().u8(eventKind).u8(suspendPolicy).i32(modifiers.length);
    for (const m of modifiers) {
      switch (m.kind) {
        case 'count':
          w.u8(1).i32(m.count);
          break;
        case 'thread-only':
          w.u8(3).objectId(m.thread);
          break;
        case 'class-only':
          w.u8(4).referenceTypeId(m.classId);
          break;
        case 'class-match':
          w.u8(5).string(m.pattern);
          break;
        case 'class-exclude':
          w.u8(6).string(m.pattern);
          break;
        case 'location-only':
          w.u8(7).location(m.location);
          break;
        case 'exception-only':
          w.u8(8).referenceTypeId(m.classId).bool(m.caught).bool(m.uncaught);
          break;
        case 'step':
          w.u8(10).objectId(m.thread).i32(m.size).i32(m.depth);
          break;
        case 'source-name-match':
          w.u8(12).string(m.pattern);
          break;
      }
    }
    return (await this.call(15, 1, w)).i32();
  }
  async clearEventRequest(eventKind: number, requestId: number): Promise<void> {
    await this.call(15, 2, this.w().u8(eventKind).i32(requestId));
  }

  // StackFrame
  async frameValues(thread: ObjectId, frame: FrameId, slots: readonly { readonly slot: number; readonly tag: string }[]): Promise<Value[]> {
    const w = this.w().objectId(thread).frameId(frame).i32(slots.length);
    for (const s of slots) w.i32(s.slot).u8(s.tag.charCodeAt(0));
    const r = await this.call(16, 1, w);
    const n = r.count();
    const out: Value[] = [];
    for (let i = 0; i < n; i++) out.push(r.value());
    return out;
  }
  async setFrameValues(thread: ObjectId, frame: FrameId, values: readonly { readonly slot: number; readonly value: Value }[]): Promise<void> {
    const w = this.w().objectId(thread).frameId(frame).i32(values.length);
    for (const v of values) w.i32(v.slot).value(v.value);
    await this.call(16, 2, w);
  }
  async thisObject(thread: ObjectId, frame: FrameId): Promise<ObjectValue> {
    return (await this.call(16, 3, this.w().objectId(thread).frameId(frame))).taggedObjectId();
  }

  // ClassObjectReference
  async reflectedType(classObject: ObjectId): Promise<{ refTypeTag: number; typeId: ReferenceTypeId }> {
    const r = await this.call(17, 1, this.w().objectId(classObject));
    return { refTypeTag: r.u8(), typeId: r.referenceTypeId() };
  }

  dispose(): void {
    this.connection.dispose();
  }
}

export type { EventSet, ConnectOptions, Logger };
