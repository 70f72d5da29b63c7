import { PacketReader, protocolError, type IdSizes, type Location, type ObjectId, type ObjectValue, type ReferenceTypeId, type Value } from './codec';
import { EventKind, type SuspendPolicyValue } from './protocol';

export type JdwpEvent =
  | { readonly kind: 'vm-start'; readonly requestId: number; readonly thread: ObjectId }
  | { readonly kind: 'vm-death'; readonly requestId: number }
  | { readonly kind: 'step' | 'breakpoint' | 'method-entry' | 'method-exit'; readonly requestId: number; readonly thread: ObjectId; readonly location: Location }
  | {
      readonly kind: 'exception';
      readonly requestId: number;
      readonly thread: ObjectId;
      readonly location: Location;
      readonly exception: ObjectValue;
      /** classId all zeros when the exception is not caught. */
      readonly catchLocation: Location;
    }
  | { readonly kind: 'thread-start' | 'thread-death'; readonly requestId: number; readonly thread: ObjectId }
  | {
      readonly kind: 'class-prepare';
      readonly requestId: number;
      readonly thread: ObjectId;
      readonly refTypeTag: number;
      readonly typeId: ReferenceTypeId;
      readonly signature: string;
      readonly status: number;
    }
  | { readonly kind: 'class-unload'; readonly requestId: number; readonly signature: string }
  | { readonly kind: 'method-exit-value'; readonly requestId: number; readonly thread: ObjectId; readonly location: Location; readonly value: Value };

/** One Event.Composite command: the VM suspended per `suspendPolicy` before sending it. */
export interface EventSet {
  readonly suspendPolicy: SuspendPolicyValue;
  readonly events: readonly JdwpEvent[];
}

/**
 * Decodes Event.Composite. Event kinds have no length prefix, so a kind this decoder does not know
 * makes the rest of the packet unreadable: that is a protocol error, not something to skip.
 */
export function decodeComposite(data: Buffer, sizes: IdSizes): EventSet {
  const r = new PacketReader(data, sizes, 'event packet');
  const policy = r.u8();
  if (policy > 2) throw protocolError(`The JVM sent an event packet with an unknown suspend policy ${policy}.`);
  const n = r.count(5);
  const events: JdwpEvent[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    const requestId = r.i32();
    switch (kind) {
      case EventKind.VmStart:
        events.push({ kind: 'vm-start', requestId, thread: r.objectId() });
        break;
      case EventKind.VmDeath:
        events.push({ kind: 'vm-death', requestId });
        break;
      case EventKind.SingleStep:
      case EventKind.Breakpoint:
      case EventKind.MethodEntry:
      case EventKind.MethodExit: {
        const name = kind === EventKind.SingleStep ? 'step' : kind === EventKind.Breakpoint ? 'breakpoint' : kind === EventKind.MethodEntry ? 'method-entry' : 'method-exit';
        events.push({ kind: name, requestId, thread: r.objectId(), location: r.location() });
        break;
      }
      case 42:
        events.push({ kind: 'method-exit-value', requestId, thread: r.objectId(), location: r.location(), value: r.value() });
        break;
      case EventKind.Exception:
        events.push({ kind: 'exception', requestId, thread: r.objectId(), location: r.location(), exception: r.taggedObjectId(), catchLocation: r.location() });
        break;
      case EventKind.ThreadStart:
      case EventKind.ThreadDeath:
        events.push({ kind: kind === EventKind.ThreadStart ? 'thread-start' : 'thread-death', requestId, thread: r.objectId() });
        break;
      case EventKind.ClassPrepare:
        events.push({ kind: 'class-prepare', requestId, thread: r.objectId(), refTypeTag: r.u8(), typeId: r.referenceTypeId(), signature: r.string(), status: r.i32() });
        break;
      case EventKind.ClassUnload:
        events.push({ kind: 'class-unload', requestId, signature: r.string() });
        break;
      default:
        throw protocolError(`The JVM sent an event of kind ${kind}, which Devlane never requested and cannot decode.`);
    }
  }
  if (r.remaining !== 0) throw protocolError(`The JVM sent an event packet with ${r.remaining} unexpected trailing bytes.`);
  return { suspendPolicy: policy as SuspendPolicyValue, events };
}
