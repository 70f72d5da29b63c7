/**
 * Numbers from the JDWP specification (openjdk `make/data/jdwp/jdwp.spec`) for the subset Devlane
 * uses. Kept as plain constants so the codec, the client and the tests speak the same names.
 */

export const HANDSHAKE = 'JDWP-Handshake';
export const HEADER_LENGTH = 11;
export const REPLY_FLAG = 0x80;

export const CommandSet = {
  VirtualMachine: 1,
  ReferenceType: 2,
  ClassType: 3,
  Method: 6,
  ObjectReference: 9,
  StringReference: 10,
  ThreadReference: 11,
  ArrayReference: 13,
  EventRequest: 15,
  StackFrame: 16,
  ClassObjectReference: 17,
  Event: 64,
} as const;

export const EventKind = {
  SingleStep: 1,
  Breakpoint: 2,
  Exception: 4,
  ThreadStart: 6,
  ThreadDeath: 7,
  ClassPrepare: 8,
  ClassUnload: 9,
  MethodEntry: 40,
  MethodExit: 41,
  VmStart: 90,
  VmDeath: 99,
} as const;
export type EventKindName = keyof typeof EventKind;

export const SuspendPolicy = { None: 0, EventThread: 1, All: 2 } as const;
export type SuspendPolicyValue = (typeof SuspendPolicy)[keyof typeof SuspendPolicy];

export const TypeTag = { Class: 1, Interface: 2, Array: 3 } as const;

export const StepSize = { Min: 0, Line: 1 } as const;
export const StepDepth = { Into: 0, Over: 1, Out: 2 } as const;

export const InvokeOptions = { SingleThreaded: 1, NonVirtual: 2 } as const;

/** The error codes Devlane reacts to; others are reported with their number. */
export const JdwpErrorCode = {
  InvalidThread: 10,
  InvalidThreadGroup: 11,
  ThreadNotSuspended: 13,
  ThreadSuspended: 14,
  InvalidObject: 20,
  InvalidClass: 21,
  ClassNotPrepared: 22,
  InvalidMethodId: 23,
  InvalidLocation: 24,
  InvalidFieldId: 25,
  InvalidFrameId: 30,
  NoMoreFrames: 31,
  OpaqueFrame: 32,
  TypeMismatch: 34,
  InvalidSlot: 35,
  NotImplemented: 99,
  AbsentInformation: 101,
  VmDead: 112,
} as const;

/** Signature tag bytes of tagged values, as characters. */
export type ValueTag = '[' | 'B' | 'C' | 'L' | 'F' | 'D' | 'I' | 'J' | 'S' | 'V' | 'Z' | 's' | 't' | 'g' | 'l' | 'c';
export const objectTags: ReadonlySet<string> = new Set(['[', 'L', 's', 't', 'g', 'l', 'c']);
export const valueTags: ReadonlySet<string> = new Set(['[', 'B', 'C', 'L', 'F', 'D', 'I', 'J', 'S', 'V', 'Z', 's', 't', 'g', 'l', 'c']);

export const JVM_ACC_STATIC = 0x0008;
export const JVM_ACC_SYNTHETIC = 0x1000;
