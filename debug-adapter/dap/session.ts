import * as fs from 'node:fs';
import * as path from 'node:path';
import { Breakpoint, BreakpointEvent, ContinuedEvent, DebugSession, Handles, InitializedEvent, OutputEvent, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DevlaneError, toDevlaneError } from '../../extension/core/errors';
import type { Logger } from '../../extension/core/log';
import { JdwpClient, type ClassInfo, type FieldInfo, type LineTable, type MethodInfo, type VariableInfo } from '../jdwp/client';
import { isNullId, type FrameId, type Location, type ObjectId, type ObjectValue, type PrimitiveValue, type ReferenceTypeId, type Value } from '../jdwp/codec';
import { isJdwpError } from '../jdwp/connection';
import type { EventSet, JdwpEvent } from '../jdwp/events';
import { EventKind, InvokeOptions, JdwpErrorCode, JVM_ACC_STATIC, StepDepth, StepSize, SuspendPolicy, TypeTag } from '../jdwp/protocol';
import { evaluate, evalError, javaDouble, parseExpression, parseHitCondition, parseLogMessage, plainText, truthy, type EvalScope, type EvalValue } from './expression';
import { classesOfSource, declaredPackage, packageOf, simpleName, SourceLocator, typeName } from './sources';
import { defaultStepFilters, type AttachArguments, type LaunchArguments, type LaunchTarget, type RedefineArguments } from './types';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig, openPodStream, podPresence, type PodTarget } from '../kube/podStream';

interface ClassEntry {
  readonly typeId: ReferenceTypeId;
  readonly signature: string;
  readonly name: string;
  methods?: Promise<MethodInfo[]>;
  sourceFile?: Promise<string | undefined>;
  fields?: Promise<FieldInfo[]>;
  superclass?: Promise<ReferenceTypeId | undefined>;
  supertypes?: Promise<Set<string>>;
  readonly lineTables: Map<string, Promise<LineTable | undefined>>;
  readonly variableTables: Map<string, Promise<VariableInfo[] | undefined>>;
}

interface FrameRef {
  readonly thread: ObjectId;
  readonly depth: number;
  readonly location: Location;
  frameId: FrameId;
  generation: number;
}

type VarRef =
  | { readonly kind: 'locals'; readonly frame: FrameRef }
  | { readonly kind: 'statics'; readonly classId: ReferenceTypeId; readonly thread: ObjectId }
  | { readonly kind: 'object'; readonly id: ObjectId; readonly thread: ObjectId; readonly path?: string }
  | { readonly kind: 'array'; readonly id: ObjectId; readonly length: number; readonly thread: ObjectId; readonly path?: string }
  | { readonly kind: 'collection'; readonly id: ObjectId; readonly thread: ObjectId; readonly map: boolean; readonly size: number }
  | { readonly kind: 'entry'; readonly key: Value; readonly value: Value; readonly thread: ObjectId };

interface LineBreakpoint {
  readonly id: number;
  readonly line: number;
  readonly condition?: string;
  readonly hit?: (n: number) => boolean;
  readonly logMessage?: string;
  hits: number;
  verified: boolean;
  message?: string;
  readonly requests: { requestId: number; classId: ReferenceTypeId }[];
}

interface FileBreakpoints {
  readonly file: string;
  readonly pkg: string;
  readonly exact: string;
  readonly nestedPrefix: string;
  readonly prepareRequests: number[];
  breakpoints: LineBreakpoint[];
}

interface ExceptionStop {
  readonly exception: ObjectId;
  readonly caught: boolean;
}

const invokeWatchdogMs = 3_000;
const maxChildren = 100;
/** Waits before each re-attach attempt after a forward dropped: 3 attempts within about 10 s. */
const reattachDelaysMs = [300, 2_000, 4_000] as const;
/** Handshake and setup timeout of one re-attach attempt, so the whole try stays bounded. */
const reattachAttemptMs = 4_000;

/** A JVM reached through a pod port-forward: what a re-attach needs when the forward drops. */
interface ForwardState {
  readonly target: PodTarget;
  readonly kc: KubeConfig;
  /** The pod's UID once read: a pod replaced under the same name is another JVM, not a re-attach. */
  uid?: string;
}

/**
 * The DAP side of Devlane's Java debugger: turns DAP requests into JDWP commands and JDWP events
 * into DAP events. It owns one JdwpClient; disconnecting disposes the VM's debug state (Dispose)
 * so the JVM keeps running.
 */
export class JavaDebugSession extends DebugSession {
  private client: JdwpClient | undefined;
  private sources = new SourceLocator([]);
  private stepFilters: readonly string[] = defaultStepFilters;
  private readonly classes = new Map<ReferenceTypeId, ClassEntry>();
  private readonly files = new Map<string, FileBreakpoints>();
  private readonly bpByRequest = new Map<number, LineBreakpoint>();
  private exceptionRequests: number[] = [];
  private exceptionFilters: readonly string[] = [];
  private readonly stepRequests = new Map<ObjectId, number>();
  private readonly threadIds = new Map<ObjectId, number>();
  private readonly threadsById = new Map<number, ObjectId>();
  private readonly stoppedThreads = new Set<ObjectId>();
  private readonly exceptions = new Map<ObjectId, ExceptionStop>();
  private readonly pinned = new Set<ObjectId>();
  private frames = new Handles<FrameRef>();
  private vars = new Handles<VarRef>();
  /** Suspend-all events (and pauses) not yet answered with a VM resume. */
  private held = 0;
  private startSuspended = false;
  private configured = false;
  private ending = false;
  private nextBreakpointId = 1;
  private generation = 0;
  private events: Promise<void> = Promise.resolve();
  private bpLock: Promise<unknown> = Promise.resolve();
  private attachedAt = Date.now();
  private keepAlive: NodeJS.Timeout | undefined;
  private nextThreadId = 1;
  private forward: ForwardState | undefined;
  /** Set while a dropped forward is being re-opened; breakpoint requests wait for it. */
  private reattaching: Promise<void> | undefined;

  /**
   * @param launchTarget For `launch`: the clone pod the extension prepared (created or reused,
   *   deployed, JDWP listening) after the preLaunchTask ran; the adapter attaches there.
   */
  constructor(
    private readonly log: Logger,
    private readonly launchTarget?: LaunchTarget,
  ) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsEvaluateForHovers: true,
      supportsSetVariable: true,
      supportsExceptionInfoRequest: true,
      supportsDelayedStackTraceLoading: true,
      // Only a launch can end its debuggee (the extension restarts the app in the clone); an
      // attach never ends a JVM it did not start.
      supportTerminateDebuggee: this.launchTarget !== undefined,
      // "terminate" of a launch restarts the app in the clone (the extension does it on the way out).
      supportsTerminateRequest: true,
      exceptionBreakpointFilters: [
        { filter: 'caught', label: 'Caught Exceptions', default: false },
        { filter: 'uncaught', label: 'Uncaught Exceptions', default: false },
      ],
    };
    this.sendResponse(response);
  }

  protected override async attachRequest(response: DebugProtocol.AttachResponse, args: DebugProtocol.AttachRequestArguments): Promise<void> {
    await this.connectTo(response, args as AttachArguments);
  }

  private async connectTo(response: DebugProtocol.Response, a: AttachArguments): Promise<void> {
    try {
      if (!Number.isInteger(a.port) || a.port <= 0) throw new DevlaneError('invalid-input', 'The attach configuration needs "port": the JDWP port of the JVM.');
      this.sources = new SourceLocator(a.sourcePaths ?? []);
      this.stepFilters = a.stepFilters ?? defaultStepFilters;
      const k = a.kubernetes;
      const client = k ? await this.connectThroughForward(a, k) : await JdwpClient.connect({ host: a.hostName ?? '127.0.0.1', port: a.port, handshakeTimeoutMs: a.timeoutMs ?? 10_000, log: this.log });
      this.adopt(client);
      if (k) {
        const target: PodTarget = { ...k, port: a.port };
        const forward: ForwardState = { target, kc: loadKubeConfig(target) };
        this.forward = forward;
        // Off the attach path (F5 stays fast); only a later re-attach needs it.
        void podPresence(forward.kc, target).then((p) => {
          if (p.state === 'present') forward.uid ??= p.uid;
        });
      }
      const keepAliveMs = a.keepAliveMs ?? (k ? 20_000 : 0);
      // A cheap command now and then keeps a port-forward from being dropped as idle.
      if (keepAliveMs > 0) this.keepAlive = setInterval(() => this.ping(), keepAliveMs);
      this.attachedAt = Date.now();
      this.log.info(`attached to ${client.version.vmName} ${client.version.vmVersion} at ${a.hostName ?? '127.0.0.1'}:${a.port}`);
      this.sendResponse(response);
      this.sendEvent(new InitializedEvent());
    } catch (e) {
      this.sendError(response, e);
    }
  }

  /** Makes `client` the session's connection: its events and its end are handled from now on. */
  private adopt(client: JdwpClient): void {
    this.client = client;
    client.onEvent((set) => {
      this.events = this.events.then(() => this.onEventSet(set, client)).catch((e) => this.fail(e));
    });
    client.onDidClose((reason) => this.onClosed(client, reason));
  }

  /**
   * The keep-alive. A forward can also stall without closing (the API server or the node stopped
   * relaying): no answer within the request timeout counts as a drop, so the session re-attaches
   * instead of hanging.
   */
  private ping(): void {
    const c = this.client;
    if (!c || c.connection.closed) return;
    c.idSizes().catch((e) => {
      if (toDevlaneError(e).reason === 'timeout' && this.client === c) c.connection.abort(new DevlaneError('jdwp-protocol', 'The JVM stopped answering through the port-forward (a keep-alive got no reply).'));
    });
  }

  /**
   * A port-forward stream can stall or drop while it is being set up (the kubelet side is still
   * dialling, the API server is busy): a failed start is retried on a fresh stream, a few times.
   * "Another debugger is attached" is not retried: it will not go away by itself.
   */
  private async connectThroughForward(a: AttachArguments, k: NonNullable<AttachArguments['kubernetes']>): Promise<JdwpClient> {
    let last: unknown;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        return await JdwpClient.connect({ host: `${k.namespace}/${k.pod}`, port: a.port, handshakeTimeoutMs: a.timeoutMs ?? 10_000, setupTimeoutMs: 8_000, log: this.log, open: () => openPodStream({ ...k, port: a.port }) });
      } catch (e) {
        last = e;
        const err = toDevlaneError(e);
        if (err.reason === 'jdwp-already-attached' || err.reason === 'not-found') break;
        this.log.warn(`attach through the port-forward, attempt ${attempt}: ${err.message}`);
      }
    }
    throw last;
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): Promise<void> {
    const t = this.launchTarget;
    if (!t) {
      this.sendError(
        response,
        new DevlaneError('invalid-input', 'The debug adapter only attaches. "launch" configurations are turned into an attach by the Devlane extension (clone, deploy, port-forward); run this configuration from VS Code, or use "request": "attach" with a port.'),
      );
      return;
    }
    const l = args as LaunchArguments;
    await this.connectTo(response, {
      port: t.port,
      kubernetes: { namespace: t.namespace, pod: t.pod, ...(t.kubeconfig ? { kubeconfig: t.kubeconfig } : {}), ...(t.context ? { context: t.context } : {}) },
      ...(l.sourcePaths ? { sourcePaths: l.sourcePaths } : {}),
      ...(l.stepFilters ? { stepFilters: l.stepFilters } : {}),
      ...(l.timeoutMs ? { timeoutMs: l.timeoutMs } : {}),
      ...(l.keepAliveMs !== undefined ? { keepAliveMs: l.keepAliveMs } : {}),
    });
  }

  /** Ends the attachment like disconnect; restarting the app is the extension's part (it owns the clone). */
  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    // The JVM is about to be restarted: its connection dropping is then no news to report.
    this.ending = true;
    clearInterval(this.keepAlive);
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override async configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): Promise<void> {
    this.configured = true;
    try {
      // A JVM started with suspend=y waits for us; it goes once breakpoints are in place.
      if (this.startSuspended) {
        this.startSuspended = false;
        await this.vm().resumeVm();
      }
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  protected override async disconnectRequest(response: DebugProtocol.DisconnectResponse): Promise<void> {
    this.ending = true;
    clearInterval(this.keepAlive);
    const client = this.client;
    this.client = undefined;
    if (client && !client.connection.closed) {
      try {
        // Dispose clears our requests and resumes every thread: the JVM keeps running without us.
        await client.disposeVm();
      } catch (e) {
        this.log.debug(`VirtualMachine.Dispose failed: ${toDevlaneError(e).message}`);
      }
      client.dispose();
    }
    this.sendResponse(response);
  }

  // ---- breakpoints ----

  protected override async setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): Promise<void> {
    try {
      const file = args.source.path;
      if (!file) throw new DevlaneError('invalid-input', 'Breakpoints need a source file on disk.');
      await this.reattaching;
      const list = await this.locked(() => this.setFileBreakpoints(file, args.breakpoints ?? []));
      response.body = { breakpoints: list.map((b) => this.toDapBreakpoint(b)) };
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.bpLock.then(fn, fn);
    this.bpLock = run.catch(() => undefined);
    return run;
  }

  private toDapBreakpoint(b: LineBreakpoint): DebugProtocol.Breakpoint {
    const bp: DebugProtocol.Breakpoint = new Breakpoint(b.verified, b.line);
    bp.id = b.id;
    if (!b.verified && b.message) {
      bp.message = b.message;
      bp.reason = b.message.startsWith('Waiting') ? 'pending' : 'failed';
    }
    return bp;
  }

  private async setFileBreakpoints(file: string, wanted: readonly DebugProtocol.SourceBreakpoint[]): Promise<LineBreakpoint[]> {
    const vm = this.vm();
    let fb = this.files.get(file);
    if (!fb) {
      const pkg = declaredPackage(await fs.promises.readFile(file, 'utf8').catch(() => ''));
      this.sources.learn(file, pkg);
      const { exact, nestedPrefix } = classesOfSource(pkg, file);
      fb = { file, pkg, exact, nestedPrefix, prepareRequests: [], breakpoints: [] };
      this.files.set(file, fb);
    }
    for (const old of fb.breakpoints) {
      for (const r of old.requests) {
        this.bpByRequest.delete(r.requestId);
        await vm.clearEventRequest(EventKind.Breakpoint, r.requestId).catch(() => undefined);
      }
    }
    fb.breakpoints = wanted.map((w) => ({
      id: this.nextBreakpointId++,
      line: w.line,
      condition: w.condition?.trim() || undefined,
      hit: w.hitCondition?.trim() ? parseHitCondition(w.hitCondition) : undefined,
      logMessage: w.logMessage,
      hits: 0,
      verified: false,
      requests: [],
    }));
    await this.installFile(fb);
    return fb.breakpoints;
  }

  /** Asks the VM for the file's class-prepare events (once) and installs its breakpoints in the loaded classes. */
  private async installFile(fb: FileBreakpoints): Promise<void> {
    const vm = this.vm();
    if (fb.breakpoints.length && fb.prepareRequests.length === 0) {
      // SourceNameMatch catches every class compiled from the file, but HotSpot does not offer it
      // (canUseSourceNameFilters is false). Other top-level classes of the file (`class Helper` beside
      // `public class Main`) are only known by their package: the package's classes are matched and
      // those from another source file are let go (classBelongs, installInClass). The default package
      // would mean every class, so there only the file's class and its nested classes are matched.
      const patterns = vm.capabilities.canUseSourceNameFilters ? [] : fb.pkg ? [`${fb.pkg}.*`] : [fb.exact, `${fb.nestedPrefix}*`];
      if (vm.capabilities.canUseSourceNameFilters) {
        fb.prepareRequests.push(await vm.setEventRequest(EventKind.ClassPrepare, SuspendPolicy.EventThread, [{ kind: 'source-name-match', pattern: path.basename(fb.file) }]));
      }
      for (const pattern of patterns) fb.prepareRequests.push(await vm.setEventRequest(EventKind.ClassPrepare, SuspendPolicy.EventThread, [{ kind: 'class-match', pattern }]));
    }
    if (fb.breakpoints.length) {
      const loaded = (await vm.allClasses()).filter((c) => this.classBelongs(fb, c.signature)).map((c) => this.classEntry(c.typeId, c.signature));
      // Source files of the package's classes asked at once, not one round trip after the other.
      await Promise.all(loaded.map((c) => this.sourceFileOf(c).catch(() => undefined)));
      for (const c of loaded) await this.installInClass(fb, c);
    }
    for (const b of fb.breakpoints) if (!b.verified && !b.message) b.message = `Waiting for class ${fb.exact} to load.`;
  }

  private classBelongs(fb: FileBreakpoints, signature: string): boolean {
    if (!signature.startsWith('L')) return false;
    const name = typeName(signature);
    return this.ownClass(fb, name) || (fb.pkg !== '' && packageOf(name) === fb.pkg);
  }

  /** The class named like the file, or one nested in it: it comes from the file even without a SourceFile attribute. */
  private ownClass(fb: FileBreakpoints, name: string): boolean {
    return name === fb.exact || name.startsWith(fb.nestedPrefix);
  }

  /** Installs the file's breakpoints in one loaded class; returns the breakpoints that changed. */
  private async installInClass(fb: FileBreakpoints, cls: ClassEntry): Promise<LineBreakpoint[]> {
    const vm = this.vm();
    const sourceFile = await this.sourceFileOf(cls);
    if (sourceFile !== path.basename(fb.file) && (sourceFile !== undefined || !this.ownClass(fb, cls.name))) return [];
    const methods = await this.methodsOf(cls);
    const tables = await Promise.all(methods.map((m) => this.lineTableOf(cls, m.methodId)));
    const changed: LineBreakpoint[] = [];
    const noDebugInfo = methods.length > 0 && tables.every((t) => t === undefined);
    for (const b of fb.breakpoints) {
      if (b.requests.some((r) => r.classId === cls.typeId)) continue;
      if (noDebugInfo) {
        if (!b.verified) {
          b.message = `${cls.name} was compiled without line numbers: compile it with -g (javac -g, or Maven/Gradle debug builds) to stop here.`;
          changed.push(b);
        }
        continue;
      }
      let installed = false;
      for (let i = 0; i < methods.length; i++) {
        const table = tables[i];
        const m = methods[i] as MethodInfo;
        if (!table) continue;
        // One stop per method and line: the first code index, as jdb does (a loop line has several).
        const entries = table.lines.filter((l) => l.line === b.line);
        if (!entries.length) continue;
        const index = entries.reduce((min, l) => (l.index < min ? l.index : min), entries[0]?.index ?? 0n);
        const requestId = await vm.setEventRequest(EventKind.Breakpoint, SuspendPolicy.All, [{ kind: 'location-only', location: { typeTag: TypeTag.Class, classId: cls.typeId, methodId: m.methodId, index } }]);
        b.requests.push({ requestId, classId: cls.typeId });
        this.bpByRequest.set(requestId, b);
        installed = true;
      }
      if (installed && !b.verified) {
        b.verified = true;
        b.message = undefined;
        changed.push(b);
      } else if (!installed && !b.verified && cls.name === fb.exact) {
        b.message = `No executable code at line ${b.line} of ${path.basename(fb.file)}.`;
        changed.push(b);
      }
    }
    return changed;
  }

  protected override async setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): Promise<void> {
    try {
      await this.reattaching;
      await this.applyExceptionFilters(args.filters);
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  private async applyExceptionFilters(filters: readonly string[]): Promise<void> {
    const vm = this.vm();
    for (const r of this.exceptionRequests) await vm.clearEventRequest(EventKind.Exception, r).catch(() => undefined);
    this.exceptionRequests = [];
    this.exceptionFilters = [...filters];
    const caught = filters.includes('caught');
    const uncaught = filters.includes('uncaught');
    if (caught || uncaught) {
      const modifiers = [{ kind: 'exception-only' as const, classId: '0', caught, uncaught }, ...this.stepFilters.map((pattern) => ({ kind: 'class-exclude' as const, pattern }))];
      // JDK code throws and catches exceptions internally all the time; only uncaught ones are shown from there.
      this.exceptionRequests.push(await vm.setEventRequest(EventKind.Exception, SuspendPolicy.All, caught ? modifiers : modifiers.slice(0, 1)));
      if (caught && uncaught) this.exceptionRequests.push(await vm.setEventRequest(EventKind.Exception, SuspendPolicy.All, [{ kind: 'exception-only', classId: '0', caught: false, uncaught: true }]));
    }
  }

  // ---- events from the VM ----

  private async onEventSet(set: EventSet, from: JdwpClient): Promise<void> {
    const vm = this.client;
    // Events of a connection that dropped meanwhile: its VM state is gone with it.
    if (!vm || vm !== from) return;
    let stop: { reason: string; thread: ObjectId; ids?: number[]; text?: string } | undefined;
    let resumeThread: ObjectId | undefined;
    let keepSuspended = false;
    for (const e of set.events) {
      switch (e.kind) {
        case 'vm-start':
          if (this.configured) break;
          this.startSuspended = set.suspendPolicy !== SuspendPolicy.None;
          keepSuspended = true;
          break;
        case 'vm-death':
          keepSuspended = true;
          this.end('The JVM exited.');
          break;
        case 'class-prepare':
          resumeThread = e.thread;
          await this.onClassPrepare(e);
          break;
        case 'breakpoint': {
          const b = this.bpByRequest.get(e.requestId);
          if (b && (await this.shouldStop(b, e.thread))) {
            stop = { reason: 'breakpoint', thread: e.thread, ids: [...(stop?.ids ?? []), b.id] };
          }
          break;
        }
        case 'step':
          await this.clearStep(e.thread);
          stop ??= { reason: 'step', thread: e.thread };
          break;
        case 'exception': {
          const caught = !isNullId(e.catchLocation.classId);
          this.exceptions.set(e.thread, { exception: e.exception.value, caught });
          stop = { reason: 'exception', thread: e.thread, text: await this.exceptionName(e.exception.value) };
          break;
        }
        default:
          break;
      }
    }
    if (stop) {
      if (set.suspendPolicy === SuspendPolicy.All) this.held++;
      for (const t of [...this.stepRequests.keys()]) await this.clearStep(t);
      this.stoppedThreads.add(stop.thread);
      const ev: DebugProtocol.StoppedEvent = new StoppedEvent(stop.reason, this.threadId(stop.thread), stop.text);
      ev.body.allThreadsStopped = set.suspendPolicy === SuspendPolicy.All;
      if (stop.ids) ev.body.hitBreakpointIds = stop.ids;
      this.sendEvent(ev);
      return;
    }
    if (keepSuspended || this.ending) return;
    if (set.suspendPolicy === SuspendPolicy.All) await vm.resumeVm();
    else if (set.suspendPolicy === SuspendPolicy.EventThread) {
      const t = resumeThread ?? set.events.map((e) => ('thread' in e ? e.thread : undefined)).find((x) => x);
      if (t) await vm.resumeThread(t);
    }
  }

  private async onClassPrepare(e: Extract<JdwpEvent, { kind: 'class-prepare' }>): Promise<void> {
    await this.locked(async () => {
      const cls = this.classEntry(e.typeId, e.signature);
      for (const fb of this.files.values()) {
        if (!fb.breakpoints.length || !this.classBelongs(fb, e.signature)) continue;
        for (const b of await this.installInClass(fb, cls)) this.sendEvent(new BreakpointEvent('changed', this.toDapBreakpoint(b)));
      }
    });
  }

  private async shouldStop(b: LineBreakpoint, thread: ObjectId): Promise<boolean> {
    let frame: FrameRef | undefined;
    const top = async () => (frame ??= await this.topFrame(thread));
    if (b.condition) {
      try {
        if (!truthy(await evaluate(parseExpression(b.condition), this.scopeFor(await top())), b.condition)) return false;
      } catch (e) {
        // A broken condition stops, like in other Java debuggers, so the user sees why.
        this.output(`Breakpoint condition "${b.condition}" failed: ${toDevlaneError(e).message}\n`, 'stderr');
        return true;
      }
    }
    b.hits++;
    if (b.hit && !b.hit(b.hits)) return false;
    if (b.logMessage !== undefined) {
      const scope = this.scopeFor(await top());
      let text = '';
      for (const part of parseLogMessage(b.logMessage)) {
        if ('text' in part) text += part.text;
        else {
          try {
            text += await this.display(await evaluate(parseExpression(part.expr), scope));
          } catch (e) {
            text += `<${toDevlaneError(e).message}>`;
          }
        }
      }
      this.output(text + '\n', 'console');
      return false;
    }
    return true;
  }

  private onClosed(client: JdwpClient, reason: DevlaneError | undefined): void {
    if (this.ending || !reason || client !== this.client) return;
    if (this.forward) void this.reattach(this.forward, reason);
    else this.end(reason.message);
  }

  /**
   * The forward to the pod dropped. When the debugger's connection goes, the JVM's agent clears
   * every request, resumes all threads and listens again (JDWP semantics): so a fresh forward gets a
   * fresh handshake, the breakpoints, exception breakpoints and class-prepare requests are installed
   * again, and threads that were stopped are reported as continued. The DAP session stays. When
   * the pod is gone, or three attempts within about 10 s fail, the session ends with the reason.
   */
  private async reattach(forward: ForwardState, reason: DevlaneError): Promise<void> {
    const started = Date.now();
    const where = `${forward.target.namespace}/${forward.target.pod}:${forward.target.port}`;
    const wasStopped = this.held > 0 || this.stoppedThreads.size > 0;
    const stoppedThread = [...this.stoppedThreads].map((t) => this.threadIds.get(t)).find((id) => id !== undefined) ?? 1;
    this.client = undefined;
    this.forgetVmState();
    this.log.warn(`the port-forward to ${where} dropped (${reason.message}); re-attaching`);
    this.output(`The port-forward to ${where} dropped; re-attaching…\n`, 'console');
    let done = () => {};
    this.reattaching = new Promise<void>((resolve) => (done = resolve));
    try {
      const client = await this.reconnect(forward, where);
      if (this.ending) {
        await client.disposeVm().catch(() => undefined);
        client.dispose();
        return;
      }
      this.adopt(client);
      await this.locked(() => this.reinstall());
      if (wasStopped) {
        const ev: DebugProtocol.ContinuedEvent = new ContinuedEvent(stoppedThread, true);
        this.sendEvent(ev);
      }
      const ms = Date.now() - started;
      this.log.info(`re-attached to ${where} in ${ms} ms`);
      this.output(
        `Forward dropped; re-attached in ${ms} ms.${wasStopped ? ' While no debugger was attached the JVM resumed all threads (as JDWP does when a debugger goes away): the program ran on from where it was stopped.' : ''}\n`,
        'console',
      );
    } catch (e) {
      this.end(toDevlaneError(e).message);
    } finally {
      this.reattaching = undefined;
      done();
    }
  }

  private async reconnect(forward: ForwardState, where: string): Promise<JdwpClient> {
    let last: DevlaneError | undefined;
    for (const [i, delay] of reattachDelaysMs.entries()) {
      await new Promise<void>((resolve) => setTimeout(resolve, delay));
      if (this.ending) throw new DevlaneError('cancelled', 'The debug session ended.');
      const presence = await podPresence(forward.kc, forward.target, forward.uid);
      if (presence.state === 'gone') {
        throw new DevlaneError('not-found', `The port-forward to ${where} dropped and the pod ${presence.why}: the debug session ended. Start it again against a running pod.`);
      }
      if (presence.state === 'present') forward.uid ??= presence.uid;
      try {
        return await JdwpClient.connect({
          host: `${forward.target.namespace}/${forward.target.pod}`,
          port: forward.target.port,
          handshakeTimeoutMs: reattachAttemptMs,
          setupTimeoutMs: reattachAttemptMs,
          log: this.log,
          open: () => openPodStream(forward.target, forward.kc),
        });
      } catch (e) {
        // "Another debugger attached" included: the JVM may not have noticed yet that our old connection is gone.
        last = toDevlaneError(e);
        this.log.warn(`re-attach to ${where}, attempt ${i + 1} of ${reattachDelaysMs.length}: ${last.message}`);
      }
    }
    throw new DevlaneError(last?.reason ?? 'jdwp-protocol', `The port-forward to ${where} dropped and could not be re-established in ${reattachDelaysMs.length} attempts (${last?.message ?? 'no answer'}): the debug session ended. The JVM keeps running; attach again once the cluster answers.`);
  }

  /** Everything tied to one JDWP connection: IDs, requests, stops. Breakpoints themselves stay. */
  private forgetVmState(): void {
    this.classes.clear();
    this.bpByRequest.clear();
    this.exceptionRequests = [];
    this.stepRequests.clear();
    this.threadIds.clear();
    this.threadsById.clear();
    this.stoppedThreads.clear();
    this.exceptions.clear();
    this.pinned.clear();
    this.frames = new Handles();
    this.vars = new Handles();
    this.held = 0;
    this.generation++;
    for (const fb of this.files.values()) {
      fb.prepareRequests.length = 0;
      for (const b of fb.breakpoints) b.requests.length = 0;
    }
  }

  /** After a re-attach: the same breakpoints and exception filters, on the new connection. */
  private async reinstall(): Promise<void> {
    for (const fb of this.files.values()) {
      const before = new Map(fb.breakpoints.map((b) => [b.id, b.verified]));
      await this.installFile(fb);
      for (const b of fb.breakpoints) if (before.get(b.id) !== b.verified) this.sendEvent(new BreakpointEvent('changed', this.toDapBreakpoint(b)));
    }
    if (this.exceptionFilters.length) await this.applyExceptionFilters(this.exceptionFilters);
  }

  private end(message: string): void {
    if (this.ending) return;
    this.ending = true;
    clearInterval(this.keepAlive);
    this.output(`${message}\n`, 'console');
    this.client?.dispose();
    this.sendEvent(new TerminatedEvent());
  }

  private fail(e: unknown): void {
    const err = toDevlaneError(e, 'jdwp-protocol');
    // A command of a connection that dropped: the re-attach (or the end) speaks for it.
    if (!this.client && this.forward) return this.log.debug(`after the forward dropped: ${err.message}`);
    this.log.error(`debug session: ${err.message}`);
    if (this.client?.connection.closed) this.end(err.message);
    else this.output(`Devlane debugger: ${err.message}\n`, 'stderr');
  }

  // ---- execution control ----

  protected override async threadsRequest(response: DebugProtocol.ThreadsResponse): Promise<void> {
    try {
      const vm = this.vm();
      const ids = await vm.allThreads();
      // Virtual threads are not in AllThreads; the ones that stopped are listed too.
      for (const t of this.stoppedThreads) if (!ids.includes(t)) ids.push(t);
      const names = await Promise.all(ids.map((t) => vm.threadName(t).catch(() => undefined)));
      response.body = { threads: ids.flatMap((t, i) => (names[i] === undefined ? [] : [new Thread(this.threadId(t), names[i] as string)])) };
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  protected override async pauseRequest(response: DebugProtocol.PauseResponse, args: DebugProtocol.PauseArguments): Promise<void> {
    try {
      await this.vm().suspendVm();
      this.held++;
      this.sendResponse(response);
      const ev: DebugProtocol.StoppedEvent = new StoppedEvent('pause', args.threadId);
      ev.body.allThreadsStopped = true;
      this.sendEvent(ev);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  protected override async continueRequest(response: DebugProtocol.ContinueResponse): Promise<void> {
    try {
      await this.resumeAll();
      response.body = { allThreadsContinued: true };
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): Promise<void> {
    return this.step(response, args.threadId, StepDepth.Over);
  }
  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): Promise<void> {
    return this.step(response, args.threadId, StepDepth.Into);
  }
  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): Promise<void> {
    return this.step(response, args.threadId, StepDepth.Out);
  }

  private async step(response: DebugProtocol.Response, threadId: number, depth: number): Promise<void> {
    try {
      const vm = this.vm();
      const thread = this.threadObject(threadId);
      await this.clearStep(thread);
      const requestId = await vm.setEventRequest(EventKind.SingleStep, SuspendPolicy.All, [
        { kind: 'step', thread, size: StepSize.Line, depth },
        { kind: 'count', count: 1 },
        ...this.stepFilters.map((pattern) => ({ kind: 'class-exclude' as const, pattern })),
      ]);
      this.stepRequests.set(thread, requestId);
      await this.resumeAll();
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  private async clearStep(thread: ObjectId): Promise<void> {
    const r = this.stepRequests.get(thread);
    if (r === undefined) return;
    this.stepRequests.delete(thread);
    await this.client?.clearEventRequest(EventKind.SingleStep, r).catch(() => undefined);
  }

  private async resumeAll(): Promise<void> {
    const vm = this.vm();
    await this.releaseObjects();
    this.frames = new Handles();
    this.vars = new Handles();
    this.exceptions.clear();
    this.stoppedThreads.clear();
    const n = Math.max(1, this.held);
    this.held = 0;
    for (let i = 0; i < n; i++) await vm.resumeVm();
  }

  // ---- stack, scopes, variables ----

  protected override async stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): Promise<void> {
    try {
      const vm = this.vm();
      const thread = this.threadObject(args.threadId);
      const start = args.startFrame ?? 0;
      const levels = args.levels ?? 0;
      const total = await vm.frameCount(thread);
      const page = start >= total ? [] : await vm.frames(thread, start, levels > 0 ? Math.min(levels, total - start) : -1);
      const generation = this.generation;
      const out = await Promise.all(
        page.map(async (f, i) => {
          const ref: FrameRef = { thread, depth: start + i, location: f.location, frameId: f.frameId, generation };
          return this.toStackFrame(this.frames.create(ref), f.location);
        }),
      );
      response.body = { stackFrames: out, totalFrames: total };
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  private async toStackFrame(id: number, loc: Location): Promise<DebugProtocol.StackFrame> {
    const cls = await this.classOf(loc.classId);
    const [methods, sourceFile, line] = await Promise.all([this.methodsOf(cls), this.sourceFileOf(cls), this.lineOf(cls, loc)]);
    const method = methods.find((m) => m.methodId === loc.methodId);
    const name = `${simpleName(cls.name)}.${method?.name ?? '?'}`;
    if (!sourceFile) {
      const f: DebugProtocol.StackFrame = new StackFrame(id, `${name} (Unknown Source)`);
      f.presentationHint = 'subtle';
      return f;
    }
    const file = this.sources.find(packageOf(cls.name), sourceFile);
    const source = file ? new Source(sourceFile, file) : new Source(sourceFile);
    if (!file) (source as DebugProtocol.Source).presentationHint = 'deemphasize';
    const f: DebugProtocol.StackFrame = new StackFrame(id, name, source, line ?? 0, 1);
    if (!file) f.presentationHint = 'subtle';
    return f;
  }

  protected override async scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): Promise<void> {
    const frame = this.frames.get(args.frameId);
    if (!frame) return this.sendError(response, new DevlaneError('invalid-input', 'That stack frame is gone: the thread resumed.'));
    response.body = {
      scopes: [new Scope('Locals', this.vars.create({ kind: 'locals', frame }), false), new Scope('Static', this.vars.create({ kind: 'statics', classId: frame.location.classId, thread: frame.thread }), true)],
    };
    this.sendResponse(response);
  }

  protected override async variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): Promise<void> {
    try {
      const ref = this.vars.get(args.variablesReference);
      if (!ref) throw new DevlaneError('invalid-input', 'Those variables are gone: the thread resumed.');
      response.body = { variables: await this.children(ref, args.start ?? 0, args.count ?? 0) };
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  private async children(ref: VarRef, start: number, count: number): Promise<DebugProtocol.Variable[]> {
    const vm = this.vm();
    switch (ref.kind) {
      case 'locals': {
        const { vars, values, thisObj, noInfo } = await this.locals(ref.frame);
        const out: DebugProtocol.Variable[] = [];
        if (thisObj && !isNullId(thisObj.value)) out.push(await this.toVariable('this', thisObj, ref.frame.thread, 'this'));
        for (let i = 0; i < vars.length; i++) out.push(await this.toVariable((vars[i] as VariableInfo).name, values[i] as Value, ref.frame.thread, (vars[i] as VariableInfo).name));
        if (noInfo) out.push({ name: '(no local variables)', value: 'the class was compiled without -g', variablesReference: 0 });
        return out;
      }
      case 'statics': {
        const cls = await this.classOf(ref.classId);
        const fields = (await this.fieldsOf(cls)).filter((f) => f.modBits & JVM_ACC_STATIC);
        if (!fields.length) return [];
        const values = await vm.staticValues(cls.typeId, fields.map((f) => f.fieldId));
        return Promise.all(fields.map((f, i) => this.toVariable(f.name, values[i] as Value, ref.thread, `${simpleName(cls.name)}.${f.name}`)));
      }
      case 'object': {
        const fields = await this.instanceFields(ref.id);
        if (!fields.length) return [];
        const values = await vm.objectValues(ref.id, fields.map((f) => f.field.fieldId));
        return Promise.all(fields.map((f, i) => this.toVariable(f.label, values[i] as Value, ref.thread, ref.path ? `${ref.path}.${f.field.name}` : undefined)));
      }
      case 'array': {
        const from = Math.min(start, ref.length);
        const n = Math.min(count > 0 ? count : ref.length - from, ref.length - from);
        if (n <= 0) return [];
        const values = await vm.arrayValues(ref.id, from, n);
        return Promise.all(values.map((v, i) => this.toVariable(`[${from + i}]`, v, ref.thread, ref.path ? `${ref.path}[${from + i}]` : undefined)));
      }
      case 'collection': {
        const arr = await this.collectionArray(ref.id, ref.thread, ref.map);
        if (!arr) return [];
        const len = await vm.arrayLength(arr);
        const n = Math.min(len, maxChildren);
        const values = n ? await vm.arrayValues(arr, 0, n) : [];
        const out: DebugProtocol.Variable[] = [];
        for (let i = 0; i < values.length; i++) {
          const v = values[i] as Value;
          if (ref.map && v.tag !== 'V' && typeof v.value === 'string' && !isNullId(v.value)) {
            const key = await this.invoke(v.value, ref.thread, 'getKey', '()Ljava/lang/Object;');
            const value = await this.invoke(v.value, ref.thread, 'getValue', '()Ljava/lang/Object;');
            out.push({
              name: `[${i}]`,
              value: `${await this.summary(key, ref.thread)} → ${await this.summary(value, ref.thread)}`,
              variablesReference: this.vars.create({ kind: 'entry', key, value, thread: ref.thread }),
            });
          } else out.push(await this.toVariable(`[${i}]`, v, ref.thread));
        }
        if (len > n) out.push({ name: '…', value: `${len - n} more`, variablesReference: 0 });
        out.push({ name: '(object)', value: 'fields', variablesReference: this.vars.create({ kind: 'object', id: ref.id, thread: ref.thread }), presentationHint: { kind: 'virtual' } });
        return out;
      }
      case 'entry':
        return [await this.toVariable('key', ref.key, ref.thread), await this.toVariable('value', ref.value, ref.thread)];
    }
  }

  private async locals(frame: FrameRef): Promise<{ vars: VariableInfo[]; values: Value[]; thisObj: ObjectValue | undefined; noInfo: boolean }> {
    const vm = this.vm();
    const cls = await this.classOf(frame.location.classId);
    const table = await this.variableTableOf(cls, frame.location.methodId);
    const frameId = await this.liveFrameId(frame);
    const methods = await this.methodsOf(cls);
    const method = methods.find((m) => m.methodId === frame.location.methodId);
    const isStatic = method ? (method.modBits & JVM_ACC_STATIC) !== 0 : false;
    const thisObj = isStatic ? undefined : await vm.thisObject(frame.thread, frameId).catch(() => undefined);
    if (!table) return { vars: [], values: [], thisObj, noInfo: true };
    const pc = frame.location.index;
    const live = table.filter((v) => v.codeIndex <= pc && pc < v.codeIndex + BigInt(v.length) && v.name !== 'this');
    live.sort((a, b) => a.slot - b.slot);
    const values = live.length ? await vm.frameValues(frame.thread, frameId, live.map((v) => ({ slot: v.slot, tag: v.signature[0] === '[' ? 'L' : (v.signature[0] as string) }))) : [];
    return { vars: live, values, thisObj, noInfo: false };
  }

  /** Frame IDs die when the thread runs (also during an invoke); re-read the frame at the same depth. */
  private async liveFrameId(frame: FrameRef): Promise<FrameId> {
    if (frame.generation !== this.generation) {
      const [f] = await this.vm().frames(frame.thread, frame.depth, 1);
      if (!f) throw new DevlaneError('invalid-input', 'That stack frame is gone.');
      frame.frameId = f.frameId;
      frame.generation = this.generation;
    }
    return frame.frameId;
  }

  private async topFrame(thread: ObjectId): Promise<FrameRef> {
    const [f] = await this.vm().frames(thread, 0, 1);
    if (!f) throw new DevlaneError('invalid-input', 'The thread has no frames.');
    return { thread, depth: 0, location: f.location, frameId: f.frameId, generation: this.generation };
  }

  private async instanceFields(object: ObjectId): Promise<{ field: FieldInfo; label: string }[]> {
    const { typeId } = await this.vm().referenceType(object);
    const out: { field: FieldInfo; label: string }[] = [];
    const seen = new Set<string>();
    let cls: ClassEntry | undefined = await this.classOf(typeId);
    while (cls) {
      for (const f of await this.fieldsOf(cls)) {
        if (f.modBits & JVM_ACC_STATIC) continue;
        // A field hidden by a subclass field of the same name is labelled with its class.
        out.push({ field: f, label: seen.has(f.name) ? `${f.name} (${simpleName(cls.name)})` : f.name });
        seen.add(f.name);
      }
      const sup: ReferenceTypeId | undefined = await this.superclassOf(cls);
      cls = sup ? await this.classOf(sup) : undefined;
    }
    return out;
  }

  private async toVariable(name: string, v: Value, thread: ObjectId, evaluateName?: string): Promise<DebugProtocol.Variable> {
    const base = { name, ...(evaluateName ? { evaluateName } : {}) };
    if (v.tag === 'V') return { ...base, value: 'void', variablesReference: 0 };
    if (!(typeof v.value === 'string')) return { ...base, value: primitiveText(v), type: typeName(v.tag), variablesReference: 0 };
    if (isNullId(v.value)) return { ...base, value: 'null', variablesReference: 0 };
    const vm = this.vm();
    const id = v.value;
    if (v.tag === 's') return { ...base, value: JSON.stringify(await vm.stringValue(id)), type: 'String', variablesReference: 0 };
    const cls = await this.classOf((await vm.referenceType(id)).typeId);
    if (v.tag === '[') {
      const length = await vm.arrayLength(id);
      const type = typeName(cls.signature);
      return { ...base, value: `${type.replace(/\[\]/, `[${length}]`)}`, type, variablesReference: length ? this.vars.create({ kind: 'array', id, length, thread, path: evaluateName }) : 0, indexedVariables: length };
    }
    const type = simpleName(cls.name);
    const boxed = await this.unboxed(cls, id);
    if (boxed !== undefined) return { ...base, value: boxed, type, variablesReference: this.vars.create({ kind: 'object', id, thread, path: evaluateName }) };
    const kind = await this.collectionKind(cls);
    if (kind && this.stoppedThreads.has(thread)) {
      const size = await this.invoke(id, thread, 'size', '()I').catch(() => undefined);
      if (size?.tag === 'I') {
        return { ...base, value: `${type} size=${size.value}`, type, variablesReference: this.vars.create({ kind: 'collection', id, thread, map: kind === 'map', size: size.value }), namedVariables: size.value };
      }
    }
    return { ...base, value: `${type} (id=${BigInt('0x' + id)})`, type, variablesReference: this.vars.create({ kind: 'object', id, thread, path: evaluateName }) };
  }

  /** Boxed primitives show their value: reading the `value` field needs no code to run in the VM. */
  private async unboxed(cls: ClassEntry, id: ObjectId): Promise<string | undefined> {
    if (!/^java\.lang\.(Integer|Long|Short|Byte|Character|Boolean|Float|Double)$/.test(cls.name)) return undefined;
    const field = (await this.fieldsOf(cls)).find((f) => f.name === 'value');
    if (!field) return undefined;
    const [v] = await this.vm().objectValues(id, [field.fieldId]);
    return v && v.tag !== 'V' && typeof v.value !== 'string' ? primitiveText(v) : undefined;
  }

  /**
   * Collections and maps are summarised by invoking size() and toArray() (entrySet().toArray() for
   * maps) on the stopped thread, single-threaded and under a watchdog. Reading internal fields would
   * avoid running code, but only for the few JDK classes we would hard-code, and their layouts change
   * between JDK versions; invoking works for every implementation, including the user's own.
   */
  private async collectionKind(cls: ClassEntry): Promise<'collection' | 'map' | undefined> {
    const supers = await this.supertypesOf(cls);
    if (supers.has('Ljava/util/Map;')) return 'map';
    if (supers.has('Ljava/util/Collection;')) return 'collection';
    return undefined;
  }

  private async collectionArray(id: ObjectId, thread: ObjectId, map: boolean): Promise<ObjectId | undefined> {
    let target: Value = { tag: 'L', value: id };
    if (map) target = await this.invoke(id, thread, 'entrySet', '()Ljava/util/Set;');
    if (target.tag === 'V' || typeof target.value !== 'string' || isNullId(target.value)) return undefined;
    const arr = await this.invoke(target.value, thread, 'toArray', '()[Ljava/lang/Object;');
    return arr.tag === '[' ? arr.value : undefined;
  }

  private async invoke(object: ObjectId, thread: ObjectId, name: string, signature: string): Promise<Value> {
    const vm = this.vm();
    const { typeId } = await vm.referenceType(object);
    let cls: ClassEntry | undefined = await this.classOf(typeId);
    let method: MethodInfo | undefined;
    while (cls && !method) {
      method = (await this.methodsOf(cls)).find((m) => m.name === name && m.signature === signature && !(m.modBits & 0x0400));
      if (!method) {
        const sup: ReferenceTypeId | undefined = await this.superclassOf(cls);
        cls = sup ? await this.classOf(sup) : undefined;
      }
    }
    if (!cls || !method) throw evalError(`${name}${signature} was not found.`);
    this.generation++;
    let r;
    try {
      r = await vm.invokeMethod(object, thread, cls.typeId, method.methodId, [], InvokeOptions.SingleThreaded, invokeWatchdogMs);
    } catch (e) {
      if (isJdwpError(e, JdwpErrorCode.ThreadNotSuspended) || isJdwpError(e, JdwpErrorCode.InvalidThread)) throw evalError('Values that need code to run in the program can only be shown when the thread stopped at a breakpoint or step.');
      throw e;
    }
    if (!isNullId(r.exception.value)) throw evalError(`${name}() threw ${await this.exceptionName(r.exception.value)}.`);
    // Results of invocations are referenced by nothing else: keep them from being collected while shown.
    if (r.value.tag !== 'V' && typeof r.value.value === 'string' && !isNullId(r.value.value) && !this.pinned.has(r.value.value)) {
      this.pinned.add(r.value.value);
      await vm.disableCollection(r.value.value).catch(() => undefined);
    }
    return r.value;
  }

  private async releaseObjects(): Promise<void> {
    const vm = this.client;
    const ids = [...this.pinned];
    this.pinned.clear();
    if (vm) await Promise.all(ids.map((id) => vm.enableCollection(id).catch(() => undefined)));
  }

  private async summary(v: Value, thread: ObjectId): Promise<string> {
    return (await this.toVariable('', v, thread)).value;
  }

  // ---- evaluation ----

  private scopeFor(frame: FrameRef): EvalScope {
    const vm = this.vm();
    const fromValue = async (v: Value): Promise<EvalValue> => {
      if (isPrimitive(v)) return primitiveEvalValue(v);
      if (v.tag === 'V' || isNullId(v.value)) return { kind: 'null' };
      if (v.tag === 's') return { kind: 'string', value: await vm.stringValue(v.value), handle: v };
      const cls = await this.classOf((await vm.referenceType(v.value)).typeId);
      const boxed = await this.unboxedValue(cls, v.value);
      if (boxed) return boxed;
      return { kind: 'object', handle: v, identity: `${simpleName(cls.name)} (id=${BigInt('0x' + v.value)})`, isArray: v.tag === '[' };
    };
    const objectIdOf = (t: EvalValue): ObjectId | undefined => ((t.kind === 'object' || t.kind === 'string') && t.handle ? (t.handle as Value & { value: string }).value : undefined);
    const fieldOf = async (object: ObjectId, name: string): Promise<EvalValue> => {
      const f = (await this.instanceFields(object)).find((x) => x.field.name === name);
      if (!f) throw evalError(`No field "${name}".`);
      const [v] = await vm.objectValues(object, [f.field.fieldId]);
      return fromValue(v as Value);
    };
    const staticOf = async (cls: ClassEntry, name: string): Promise<EvalValue | undefined> => {
      let c: ClassEntry | undefined = cls;
      while (c) {
        const f = (await this.fieldsOf(c)).find((x) => x.name === name && x.modBits & JVM_ACC_STATIC);
        if (f) return fromValue((await vm.staticValues(c.typeId, [f.fieldId]))[0] as Value);
        const sup: ReferenceTypeId | undefined = await this.superclassOf(c);
        c = sup ? await this.classOf(sup) : undefined;
      }
      return undefined;
    };
    return {
      name: async (name) => {
        const { vars, values, thisObj } = await this.locals(frame);
        const i = vars.findIndex((v) => v.name === name);
        if (i >= 0) return fromValue(values[i] as Value);
        // Fields of `this`, then of the enclosing instances inner classes reach through this$0.
        let outer: ObjectId | undefined = thisObj && !isNullId(thisObj.value) ? thisObj.value : undefined;
        for (let depth = 0; outer && depth < 8; depth++) {
          const fields = await this.instanceFields(outer);
          if (fields.some((x) => x.field.name === name)) return fieldOf(outer, name);
          const link = fields.find((x) => /^this\$\d+$/.test(x.field.name));
          if (!link) break;
          const [v] = await vm.objectValues(outer, [link.field.fieldId]);
          outer = v && typeof v.value === 'string' && !isNullId(v.value) ? v.value : undefined;
        }
        const here = await this.classOf(frame.location.classId);
        const st = await staticOf(here, name);
        if (st) return st;
        const cls = await this.findClass(name, here);
        if (cls) return { kind: 'class', handle: cls, name: cls.name };
        throw evalError(`"${name}" is not a local variable, field or loaded class here.`);
      },
      thisObject: async () => {
        const { thisObj } = await this.locals(frame);
        if (!thisObj) throw evalError('There is no "this" in a static method.');
        return fromValue(thisObj);
      },
      member: async (t, name) => {
        if (t.kind === 'class') {
          const st = await staticOf(t.handle as ClassEntry, name);
          if (!st) throw evalError(`${t.name} has no static field "${name}".`);
          return st;
        }
        const id = objectIdOf(t);
        if (!id) throw evalError(`Cannot read "${name}" of a ${t.kind}.`);
        if (t.kind === 'object' && t.isArray && name === 'length') return { kind: 'number', value: await vm.arrayLength(id), integral: true, javaType: 'int' };
        return fieldOf(id, name);
      },
      index: async (t, i) => {
        const id = objectIdOf(t);
        if (!id || t.kind !== 'object' || !t.isArray) throw evalError('Only arrays can be indexed.');
        const len = await vm.arrayLength(id);
        if (i < 0 || i >= len) throw evalError(`Index ${i} is outside the array (length ${len}).`);
        return fromValue((await vm.arrayValues(id, i, 1))[0] as Value);
      },
    };
  }

  /** A boxed primitive's value, read from its `value` field: Integer as int, Float as float, and so on. */
  private async unboxedValue(cls: ClassEntry, id: ObjectId): Promise<EvalValue | undefined> {
    if (!/^java\.lang\.(Integer|Long|Short|Byte|Character|Boolean|Float|Double)$/.test(cls.name)) return undefined;
    const field = (await this.fieldsOf(cls)).find((f) => f.name === 'value');
    if (!field) return undefined;
    const [v] = await this.vm().objectValues(id, [field.fieldId]);
    return v && isPrimitive(v) ? primitiveEvalValue(v) : undefined;
  }

  private async findClass(name: string, context: ClassEntry): Promise<ClassEntry | undefined> {
    const candidates = name.includes('.') ? [name] : [packageOf(context.name) ? `${packageOf(context.name)}.${name}` : name, `java.lang.${name}`, `${context.name.split('$')[0]}$${name}`];
    for (const c of candidates) {
      const sig = `L${c.replace(/\./g, '/')};`;
      const [hit] = await this.vm().classesBySignature(sig);
      if (hit) return this.classEntry(hit.typeId, sig);
    }
    return undefined;
  }

  private async display(v: EvalValue): Promise<string> {
    return v.kind === 'string' ? v.value : plainText(v);
  }

  protected override async evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): Promise<void> {
    try {
      const frame = args.frameId !== undefined ? this.frames.get(args.frameId) : undefined;
      if (!frame) throw new DevlaneError('invalid-input', 'Expressions are evaluated in a stopped frame: pause or stop at a breakpoint first.');
      const v = await evaluate(parseExpression(args.expression), this.scopeFor(frame));
      const variable = await this.evalToVariable(v, frame.thread, args.expression);
      response.body = { result: variable.value, type: variable.type, variablesReference: variable.variablesReference, indexedVariables: variable.indexedVariables, namedVariables: variable.namedVariables };
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  private async evalToVariable(v: EvalValue, thread: ObjectId, expression: string): Promise<DebugProtocol.Variable> {
    if ((v.kind === 'object' || v.kind === 'string') && v.handle) return this.toVariable(expression, v.handle as Value, thread, expression);
    if (v.kind === 'string') return { name: expression, value: JSON.stringify(v.value), type: 'String', variablesReference: 0 };
    if (v.kind === 'char') return { name: expression, value: `'${v.value}'`, type: 'char', variablesReference: 0 };
    if (v.kind === 'class') return { name: expression, value: `class ${v.name}`, variablesReference: this.vars.create({ kind: 'statics', classId: (v.handle as ClassEntry).typeId, thread }) };
    return { name: expression, value: plainText(v), type: v.kind === 'number' ? v.javaType : v.kind === 'long' ? 'long' : v.kind, variablesReference: 0 };
  }

  protected override async setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): Promise<void> {
    try {
      const ref = this.vars.get(args.variablesReference);
      if (!ref) throw new DevlaneError('invalid-input', 'Those variables are gone: the thread resumed.');
      const vm = this.vm();
      let newValue: Value;
      let thread: ObjectId;
      if (ref.kind === 'locals') {
        thread = ref.frame.thread;
        const { vars } = await this.locals(ref.frame);
        const v = vars.find((x) => x.name === args.name);
        if (!v) throw new DevlaneError('invalid-input', `"${args.name}" cannot be changed here.`);
        newValue = await this.parseValue(args.value, v.signature);
        await vm.setFrameValues(ref.frame.thread, await this.liveFrameId(ref.frame), [{ slot: v.slot, value: newValue }]);
      } else if (ref.kind === 'object') {
        thread = ref.thread;
        const f = (await this.instanceFields(ref.id)).find((x) => x.label === args.name);
        if (!f) throw new DevlaneError('invalid-input', `"${args.name}" cannot be changed here.`);
        newValue = await this.parseValue(args.value, f.field.signature);
        await vm.setObjectValues(ref.id, [{ fieldId: f.field.fieldId, value: newValue }]);
      } else if (ref.kind === 'statics') {
        thread = ref.thread;
        const cls = await this.classOf(ref.classId);
        const f = (await this.fieldsOf(cls)).find((x) => x.name === args.name && x.modBits & JVM_ACC_STATIC);
        if (!f) throw new DevlaneError('invalid-input', `"${args.name}" cannot be changed here.`);
        newValue = await this.parseValue(args.value, f.signature);
        await vm.setStaticValues(cls.typeId, [{ fieldId: f.fieldId, value: newValue }]);
      } else if (ref.kind === 'array') {
        thread = ref.thread;
        const index = Number(args.name.replace(/^\[|\]$/g, ''));
        const sig = (await this.classOf((await vm.referenceType(ref.id)).typeId)).signature.slice(1);
        newValue = await this.parseValue(args.value, sig);
        await vm.setArrayValues(ref.id, index, [newValue]);
      } else throw new DevlaneError('invalid-input', 'Only locals, fields, statics and array elements can be changed.');
      const shown = await this.toVariable(args.name, newValue, thread);
      response.body = { value: shown.value, type: shown.type, variablesReference: shown.variablesReference };
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  /** Primitives and strings can be set; the text is read as a Java literal of the variable's type. */
  private async parseValue(text: string, signature: string): Promise<Value> {
    const t = text.trim();
    const bad = () => new DevlaneError('invalid-input', `"${text}" is not a valid ${typeName(signature)}.`);
    const int = (min: number, max: number) => {
      if (!/^[-+]?\d+$/.test(t)) throw bad();
      const n = Number(t);
      if (n < min || n > max) throw bad();
      return n;
    };
    switch (signature) {
      case 'I':
        return { tag: 'I', value: int(-2147483648, 2147483647) };
      case 'S':
        return { tag: 'S', value: int(-32768, 32767) };
      case 'B':
        return { tag: 'B', value: int(-128, 127) };
      case 'J':
        if (!/^[-+]?\d+[lL]?$/.test(t)) throw bad();
        return { tag: 'J', value: BigInt.asIntN(64, BigInt(t.replace(/[lL]$/, ''))) };
      case 'F':
      case 'D': {
        const n = Number(t.replace(/[fFdD]$/, ''));
        if (Number.isNaN(n) && t !== 'NaN') throw bad();
        return { tag: signature, value: n };
      }
      case 'Z':
        if (t !== 'true' && t !== 'false') throw bad();
        return { tag: 'Z', value: t === 'true' };
      case 'C': {
        const m = /^'(.)'$/u.exec(t) ?? /^(.)$/u.exec(t);
        if (!m) throw bad();
        return { tag: 'C', value: (m[1] as string).charCodeAt(0) };
      }
      case 'Ljava/lang/String;': {
        if (t === 'null') return { tag: 's', value: '0'.repeat(this.vm().sizes.objectId * 2) };
        let s = t;
        if (t.startsWith('"')) {
          try {
            s = JSON.parse(t) as string;
          } catch {
            throw bad();
          }
        }
        return { tag: 's', value: await this.vm().createString(s) };
      }
      default:
        throw new DevlaneError('invalid-input', `Only primitives and strings can be set; ${typeName(signature)} cannot.`);
    }
  }

  protected override async exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse, args: DebugProtocol.ExceptionInfoArguments): Promise<void> {
    try {
      const thread = this.threadObject(args.threadId);
      const ex = this.exceptions.get(thread);
      if (!ex) throw new DevlaneError('invalid-input', 'The thread did not stop on an exception.');
      const name = await this.exceptionName(ex.exception);
      const message = await this.exceptionMessage(ex.exception);
      response.body = { exceptionId: name, description: message ?? undefined, breakMode: ex.caught ? 'always' : 'unhandled', details: { typeName: name, message: message ?? undefined } };
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  private async exceptionName(id: ObjectId): Promise<string> {
    return (await this.classOf((await this.vm().referenceType(id)).typeId)).name;
  }

  /** Throwable.detailMessage, read as a field so no code runs to get it. */
  private async exceptionMessage(id: ObjectId): Promise<string | undefined> {
    const f = (await this.instanceFields(id)).find((x) => x.field.name === 'detailMessage');
    if (!f) return undefined;
    const [v] = await this.vm().objectValues(id, [f.field.fieldId]);
    return v && v.tag === 's' && !isNullId(v.value) ? this.vm().stringValue(v.value) : undefined;
  }

  // ---- hot code replace ----

  protected override async customRequest(command: string, response: DebugProtocol.Response, args: unknown): Promise<void> {
    if (command !== 'redefineClasses') return super.customRequest(command, response, args);
    try {
      response.body = await this.redefine((args ?? {}) as RedefineArguments);
      this.sendResponse(response);
    } catch (e) {
      this.sendError(response, e);
    }
  }

  private async redefine(args: RedefineArguments): Promise<{ redefined: string[] }> {
    const vm = this.vm();
    if (!vm.capabilities.canRedefineClasses) throw new DevlaneError('invalid-input', 'This JVM cannot redefine classes: restart it to run the rebuilt code.');
    const since = this.attachedAt;
    let candidates = [...(args.classes ?? [])];
    for (const outputDir of [...(args.outputDir ? [args.outputDir] : []), ...(args.outputDirs ?? [])]) {
      const walk = async (dir: string): Promise<string[]> => {
        const entries = await fs.promises.readdir(dir, { withFileTypes: true });
        const nested = await Promise.all(entries.filter((d) => d.isDirectory()).map((d) => walk(path.join(dir, d.name))));
        return entries.filter((d) => d.isFile()).map((d) => path.join(dir, d.name)).concat(...nested);
      };
      for (const file of await walk(outputDir)) {
        if (!file.endsWith('.class') || (await fs.promises.stat(file)).mtimeMs <= since) continue;
        candidates.push({ name: path.relative(outputDir, file).replace(/\.class$/, '').split(path.sep).join('.'), file });
      }
    }
    candidates = candidates.filter((c, i) => candidates.findIndex((d) => d.name === c.name) === i);
    const targets: { typeId: ReferenceTypeId; bytes: Buffer; name: string }[] = [];
    for (const c of candidates) {
      const [loaded] = await vm.classesBySignature(`L${c.name.replace(/\./g, '/')};`);
      if (loaded) targets.push({ typeId: loaded.typeId, bytes: await fs.promises.readFile(c.file), name: c.name });
    }
    if (targets.length) {
      try {
        await vm.redefineClasses(targets);
      } catch (e) {
        if (e instanceof Error && 'code' in e) throw new DevlaneError('invalid-input', `The JVM refused the new classes (JDWP error ${(e as { code: number }).code}): HotSpot only replaces method bodies; added or removed methods and fields need a restart.`, { cause: e });
        throw e;
      }
      for (const t of targets) this.classes.delete(t.typeId);
      this.attachedAt = Date.now();
    }
    return { redefined: targets.map((t) => t.name) };
  }

  // ---- class metadata cache ----

  private classEntry(typeId: ReferenceTypeId, signature: string): ClassEntry {
    let c = this.classes.get(typeId);
    if (!c) {
      c = { typeId, signature, name: typeName(signature), lineTables: new Map(), variableTables: new Map() };
      this.classes.set(typeId, c);
    }
    return c;
  }
  private async classOf(typeId: ReferenceTypeId): Promise<ClassEntry> {
    return this.classes.get(typeId) ?? this.classEntry(typeId, await this.vm().signature(typeId));
  }
  private methodsOf(c: ClassEntry): Promise<MethodInfo[]> {
    return (c.methods ??= this.vm().methods(c.typeId));
  }
  private fieldsOf(c: ClassEntry): Promise<FieldInfo[]> {
    return (c.fields ??= this.vm().fields(c.typeId));
  }
  private sourceFileOf(c: ClassEntry): Promise<string | undefined> {
    return (c.sourceFile ??= this.vm()
      .sourceFile(c.typeId)
      .catch((e) => {
        if (isJdwpError(e, JdwpErrorCode.AbsentInformation)) return undefined;
        throw e;
      }));
  }
  private superclassOf(c: ClassEntry): Promise<ReferenceTypeId | undefined> {
    return (c.superclass ??= c.signature.startsWith('[')
      ? Promise.resolve(undefined)
      : this.vm()
          .superclass(c.typeId)
          .then((s) => (isNullId(s) ? undefined : s))
          .catch(() => undefined));
  }
  private supertypesOf(c: ClassEntry): Promise<Set<string>> {
    return (c.supertypes ??= (async () => {
      const out = new Set<string>([c.signature]);
      const sup = await this.superclassOf(c);
      const ifaces = await this.vm().interfaces(c.typeId).catch(() => []);
      for (const t of [...(sup ? [sup] : []), ...ifaces]) for (const s of await this.supertypesOf(await this.classOf(t))) out.add(s);
      return out;
    })());
  }
  private lineTableOf(c: ClassEntry, methodId: string): Promise<LineTable | undefined> {
    let t = c.lineTables.get(methodId);
    if (!t) {
      t = this.vm()
        .lineTable(c.typeId, methodId)
        .catch((e) => {
          // Native and abstract methods have no line table; classes without -g neither.
          if (isJdwpError(e, JdwpErrorCode.AbsentInformation) || isJdwpError(e, JdwpErrorCode.NotImplemented)) return undefined;
          throw e;
        })
        .then((x) => (x && x.lines.length ? x : undefined));
      c.lineTables.set(methodId, t);
    }
    return t;
  }
  private variableTableOf(c: ClassEntry, methodId: string): Promise<VariableInfo[] | undefined> {
    let t = c.variableTables.get(methodId);
    if (!t) {
      t = this.vm()
        .variableTable(c.typeId, methodId)
        .then((x) => x.variables)
        .catch((e) => {
          if (isJdwpError(e, JdwpErrorCode.AbsentInformation) || isJdwpError(e, JdwpErrorCode.NotImplemented)) return undefined;
          throw e;
        });
      c.variableTables.set(methodId, t);
    }
    return t;
  }
  private async lineOf(c: ClassEntry, loc: Location): Promise<number | undefined> {
    const table = await this.lineTableOf(c, loc.methodId);
    if (!table) return undefined;
    let best: { index: bigint; line: number } | undefined;
    for (const l of table.lines) if (l.index <= loc.index && (!best || l.index >= best.index)) best = l;
    return best?.line;
  }

  // ---- helpers ----

  private vm(): JdwpClient {
    if (this.reattaching && !this.client) throw new DevlaneError('jdwp-protocol', 'The port-forward to the JVM dropped and is being re-opened: try again in a moment.');
    if (!this.client || this.client.connection.closed) throw new DevlaneError('jdwp-protocol', 'Not attached to a JVM.');
    return this.client;
  }

  private threadId(thread: ObjectId): number {
    let id = this.threadIds.get(thread);
    if (id === undefined) {
      // Never reused, also across a re-attach (whose thread objects have new IDs).
      id = this.nextThreadId++;
      this.threadIds.set(thread, id);
      this.threadsById.set(id, thread);
    }
    return id;
  }

  private threadObject(id: number): ObjectId {
    const t = this.threadsById.get(id);
    if (!t) throw new DevlaneError('invalid-input', `Unknown thread ${id}.`);
    return t;
  }

  private output(text: string, category: 'console' | 'stderr' | 'stdout'): void {
    this.sendEvent(new OutputEvent(text, category));
  }

  private sendError(response: DebugProtocol.Response, e: unknown): void {
    const err = toDevlaneError(e, 'jdwp-protocol');
    this.log.debug(`${response.command} failed: ${err.reason}: ${err.message}`);
    this.sendErrorResponse(response, { id: 1, format: err.message, showUser: response.command === 'attach', variables: {} }, undefined, undefined);
  }
}

function primitiveText(v: Value): string {
  switch (v.tag) {
    case 'C':
      return `'${String.fromCharCode(v.value)}'`;
    case 'F':
    case 'D':
      return javaDouble(v.value);
    default:
      return String(v.value);
  }
}

export type { ClassInfo };

const PRIMITIVE_TAGS: ReadonlySet<string> = new Set(['Z', 'B', 'C', 'S', 'I', 'F', 'D', 'J']);
const isPrimitive = (v: Value): v is PrimitiveValue => PRIMITIVE_TAGS.has(v.tag);

/** A primitive JDWP value as the evaluator sees it, with its Java type. */
function primitiveEvalValue(v: PrimitiveValue): EvalValue {
  switch (v.tag) {
    case 'Z':
      return { kind: 'boolean', value: v.value };
    case 'J':
      return { kind: 'long', value: v.value };
    case 'C':
      return { kind: 'char', value: String.fromCharCode(v.value) };
    case 'F':
    case 'D':
      return { kind: 'number', value: v.value, integral: false, javaType: v.tag === 'F' ? 'float' : 'double' };
    default:
      return { kind: 'number', value: v.value, integral: true, javaType: v.tag === 'I' ? 'int' : v.tag === 'S' ? 'short' : 'byte' };
  }
}
