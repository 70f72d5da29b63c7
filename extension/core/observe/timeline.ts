/** Kubernetes events as a timeline: one entry per event object, updated in place as counts grow. */
import type { CoreV1Event } from '@kubernetes/client-node';
import type { Explanation } from './explain';

export interface TimelineEntry {
  readonly uid: string;
  /** ISO time of the last occurrence. */
  readonly time: string;
  readonly firstTime: string;
  readonly type: string;
  readonly warning: boolean;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  /** "Pod/orders-7c9f". */
  readonly object: string;
  readonly source: string;
  readonly explanation?: Explanation;
}

function iso(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  if (typeof v === 'string') return v;
  return undefined;
}

export function toEntry(e: CoreV1Event): TimelineEntry {
  // events.k8s.io writers (the scheduler) fill eventTime/series; core writers fill the timestamps.
  const last = iso(e.series?.lastObservedTime) ?? iso(e.lastTimestamp) ?? iso(e.eventTime) ?? iso(e.firstTimestamp) ?? iso(e.metadata?.creationTimestamp) ?? '';
  const first = iso(e.firstTimestamp) ?? iso(e.eventTime) ?? last;
  return {
    uid: e.metadata?.uid ?? `${e.metadata?.namespace}/${e.metadata?.name}`,
    time: last,
    firstTime: first,
    type: e.type ?? 'Normal',
    warning: e.type === 'Warning',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: e.series?.count ?? e.count ?? 1,
    object: `${e.involvedObject?.kind ?? '?'}/${e.involvedObject?.name ?? '?'}`,
    source: e.reportingComponent || e.source?.component || '',
  };
}

export class EventTimeline {
  private readonly byUid = new Map<string, TimelineEntry>();

  /** Replaces everything (after a list). */
  reset(events: readonly CoreV1Event[]): void {
    this.byUid.clear();
    for (const e of events) this.upsert(e);
  }

  upsert(e: CoreV1Event): TimelineEntry {
    const entry = toEntry(e);
    const prev = this.byUid.get(entry.uid);
    this.byUid.set(entry.uid, prev?.explanation ? { ...entry, explanation: prev.explanation } : entry);
    return entry;
  }

  /** Events expire from the API server after an hour; the timeline keeps what it saw. */
  explain(uid: string, explanation: Explanation): void {
    const e = this.byUid.get(uid);
    if (e) this.byUid.set(uid, { ...e, explanation });
  }

  entries(): TimelineEntry[] {
    return [...this.byUid.values()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.uid < b.uid ? -1 : 1));
  }

  get size(): number {
    return this.byUid.size;
  }
}
