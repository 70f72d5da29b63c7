/**
 * Every message between the extension host and the observe webviews, declared once. Both sides
 * check what they receive with the guards below: a webview can be reloaded, restored or (in tests)
 * driven by hand, and a message that does not fit is dropped, never half-used.
 *
 * Each webview posts `ready` once its script runs; the host posts nothing before that.
 */

// The DTOs are the core's own types, minus what the views never show: declared once, type-only
// imports (nothing of the core is bundled into a webview by these).
import type { Explanation } from '../../extension/core/observe/explain';
import type { HttpExchange } from '../../extension/core/observe/http';
import type { PacketRow } from '../../extension/core/observe/tcpdumpLine';
import type { TimelineEntry } from '../../extension/core/observe/timeline';

export const viewTypes = { events: 'devlane.events', logs: 'devlane.logs', capture: 'devlane.capture' } as const;
export type ViewType = (typeof viewTypes)[keyof typeof viewTypes];

/** The pod (or workload/namespace, for events) a panel shows. Same shape as core's ResourceRef. */
export interface PanelTarget {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly context?: string;
}

export interface ErrorInfo {
  readonly reason: string;
  readonly message: string;
}

// ---------- Events ----------
export type ExplanationDto = Explanation;
/** A timeline entry as the view shows it (the first occurrence's time stays in the host). */
export type EventDto = Omit<TimelineEntry, 'firstTime'>;
export type EventsToView =
  | {
      readonly type: 'snapshot';
      readonly target: PanelTarget;
      readonly entries: readonly EventDto[];
      readonly podProblems: readonly ExplanationDto[];
      readonly state: 'loading' | 'live' | 'reconnecting' | 'failed' | 'gone';
      readonly error?: ErrorInfo;
    };
export type EventsToHost = { readonly type: 'ready' } | { readonly type: 'refresh' } | { readonly type: 'openLogs' };

// ---------- Logs ----------
export interface ContainerDto {
  readonly name: string;
  readonly kind: 'init' | 'sidecar' | 'app' | 'ephemeral';
  readonly state: string;
  readonly restarts: number;
  readonly hasPrevious: boolean;
}
export interface LogStreamOptions {
  readonly container: string;
  readonly previous: boolean;
  /** 0 = from the start. */
  readonly sinceSeconds: number;
  /** -1 = all lines. */
  readonly tailLines: number;
}
export interface LogLineDto {
  readonly seq: number;
  readonly text: string;
  readonly ts?: string;
  readonly cut: number;
}
export type LogsToView =
  | { readonly type: 'init'; readonly target: PanelTarget; readonly containers: readonly ContainerDto[]; readonly options: LogStreamOptions }
  | { readonly type: 'reset'; readonly options: LogStreamOptions }
  | { readonly type: 'lines'; readonly lines: readonly LogLineDto[] }
  | { readonly type: 'status'; readonly state: 'starting' | 'following' | 'ended' | 'gone' | 'failed'; readonly error?: ErrorInfo };
export type LogsToHost = { readonly type: 'ready' } | { readonly type: 'open'; readonly options: LogStreamOptions } | { readonly type: 'download' };

// ---------- Capture ----------
/** A parsed tcpdump line; the raw text stays in the host. */
export type PacketRowDto = Omit<PacketRow, 'raw'>;
export type HttpExchangeDto = Omit<HttpExchange, 'contentType'>;
export type CaptureState = 'idle' | 'starting' | 'running' | 'stopped' | 'failed' | 'file';
export type CaptureToView =
  | { readonly type: 'init'; readonly target: PanelTarget; readonly filter: string; readonly startFile?: string }
  | { readonly type: 'clear'; readonly title: string }
  | { readonly type: 'rows'; readonly rows: readonly PacketRowDto[] }
  | { readonly type: 'http'; readonly exchanges: readonly HttpExchangeDto[] }
  | { readonly type: 'status'; readonly state: CaptureState; readonly detail?: string; readonly error?: ErrorInfo };
export type CaptureToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'start'; readonly filter: string }
  | { readonly type: 'stop' }
  | { readonly type: 'download' }
  | { readonly type: 'summarise' }
  | { readonly type: 'openStartFile' };

// ---------- Guards ----------
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const bool = (v: unknown): v is boolean => typeof v === 'boolean';
const arr = <T>(v: unknown, each: (x: unknown) => x is T): v is T[] => Array.isArray(v) && v.every(each);
const optStr = (v: unknown) => v === undefined || str(v);

export function isPanelTarget(v: unknown): v is PanelTarget {
  return isObj(v) && str(v.kind) && str(v.namespace) && str(v.name) && optStr(v.context);
}
function isErrorInfo(v: unknown): v is ErrorInfo {
  return isObj(v) && str(v.reason) && str(v.message);
}
function isExplanation(v: unknown): v is ExplanationDto {
  return isObj(v) && str(v.summary) && arr(v.reasons, str) && arr(v.fixes, str);
}
function isEventDto(v: unknown): v is EventDto {
  return isObj(v) && str(v.uid) && str(v.time) && str(v.type) && bool(v.warning) && str(v.reason) && str(v.message) && num(v.count) && str(v.object) && str(v.source) && (v.explanation === undefined || isExplanation(v.explanation));
}
export function isLogStreamOptions(v: unknown): v is LogStreamOptions {
  return isObj(v) && str(v.container) && bool(v.previous) && num(v.sinceSeconds) && num(v.tailLines);
}
function isContainer(v: unknown): v is ContainerDto {
  return isObj(v) && str(v.name) && str(v.kind) && str(v.state) && num(v.restarts) && bool(v.hasPrevious);
}
function isLogLine(v: unknown): v is LogLineDto {
  return isObj(v) && num(v.seq) && str(v.text) && num(v.cut) && optStr(v.ts);
}
function isRow(v: unknown): v is PacketRowDto {
  return isObj(v) && str(v.time) && str(v.source) && str(v.destination) && str(v.protocol) && str(v.flags) && str(v.summary) && (v.length === undefined || num(v.length));
}
function isExchange(v: unknown): v is HttpExchangeDto {
  return isObj(v) && str(v.client) && str(v.server) && num(v.time) && str(v.method) && str(v.target) && num(v.requestBodyBytes) && (v.status === undefined || num(v.status));
}
const eventStates = new Set(['loading', 'live', 'reconnecting', 'failed', 'gone']);
const logStates = new Set(['starting', 'following', 'ended', 'gone', 'failed']);
const captureStates = new Set(['idle', 'starting', 'running', 'stopped', 'failed', 'file']);

export function isEventsToView(m: unknown): m is EventsToView {
  return isObj(m) && m.type === 'snapshot' && isPanelTarget(m.target) && arr(m.entries, isEventDto) && arr(m.podProblems, isExplanation) && str(m.state) && eventStates.has(m.state) && (m.error === undefined || isErrorInfo(m.error));
}
export function isEventsToHost(m: unknown): m is EventsToHost {
  return isObj(m) && (m.type === 'ready' || m.type === 'refresh' || m.type === 'openLogs');
}
export function isLogsToView(m: unknown): m is LogsToView {
  if (!isObj(m)) return false;
  switch (m.type) {
    case 'init':
      return isPanelTarget(m.target) && arr(m.containers, isContainer) && isLogStreamOptions(m.options);
    case 'reset':
      return isLogStreamOptions(m.options);
    case 'lines':
      return arr(m.lines, isLogLine);
    case 'status':
      return str(m.state) && logStates.has(m.state) && (m.error === undefined || isErrorInfo(m.error));
    default:
      return false;
  }
}
export function isLogsToHost(m: unknown): m is LogsToHost {
  if (!isObj(m)) return false;
  return m.type === 'ready' || m.type === 'download' || (m.type === 'open' && isLogStreamOptions(m.options));
}
export function isCaptureToView(m: unknown): m is CaptureToView {
  if (!isObj(m)) return false;
  switch (m.type) {
    case 'init':
      return isPanelTarget(m.target) && str(m.filter) && optStr(m.startFile);
    case 'clear':
      return str(m.title);
    case 'rows':
      return arr(m.rows, isRow);
    case 'http':
      return arr(m.exchanges, isExchange);
    case 'status':
      return str(m.state) && captureStates.has(m.state) && optStr(m.detail) && (m.error === undefined || isErrorInfo(m.error));
    default:
      return false;
  }
}
export function isCaptureToHost(m: unknown): m is CaptureToHost {
  if (!isObj(m)) return false;
  switch (m.type) {
    case 'ready':
    case 'stop':
    case 'download':
    case 'summarise':
    case 'openStartFile':
      return true;
    case 'start':
      return str(m.filter);
    default:
      return false;
  }
}

/** What each webview keeps with setState, so a reload or a restart restores the panel. */
export interface LogsViewState {
  readonly target: PanelTarget;
  readonly options: LogStreamOptions;
  readonly query: string;
  readonly regex: boolean;
  readonly caseSensitive: boolean;
  readonly onlyMatches: boolean;
  readonly wrap: boolean;
  readonly timestamps: boolean;
  readonly follow: boolean;
}
export interface EventsViewState {
  readonly target: PanelTarget;
  readonly warningsOnly: boolean;
}
export interface CaptureViewState {
  readonly target: PanelTarget;
  readonly filter: string;
}
export function isViewState(v: unknown): v is { target: PanelTarget } {
  return isObj(v) && isPanelTarget(v.target);
}
