/**
 * The log model: chunks from a log stream become lines (split, timestamp taken off, huge lines cut
 * with a marker), kept in a bounded buffer, and searched with plain-text or regex filters that
 * report match ranges for highlighting. Pure code: it runs in Node (host, tests, benchmark) and in
 * the logs webview, which keeps its own copy of the lines to filter and render without round trips.
 */
import { stripAnsi } from './ansi';

export interface LogLine {
  /** Position in the stream, counting from 0; stays stable when old lines are dropped. */
  readonly seq: number;
  /** The text as sent, ANSI escapes included, cut to the maximum length. */
  readonly text: string;
  /** RFC 3339 timestamp from the API server (`timestamps=true`), when present. */
  readonly ts?: string;
  /** Characters cut from the end of a huge line (0 when whole). */
  readonly cut: number;
}

export const defaultMaxLineLength = 16 * 1024;

/**
 * Splits a byte/text stream into lines. A line longer than `maxLineLength` keeps its start and only
 * counts the rest, so one endless line (a minified JSON dump, a binary blob) cannot exhaust memory or
 * freeze the view.
 */
export class LineSplitter {
  private pending = '';
  private pendingCut = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly maxLineLength = defaultMaxLineLength) {}

  /** Returns the complete lines in this chunk; a trailing partial line waits for the next. */
  push(chunk: Uint8Array | string): { text: string; cut: number }[] {
    const s = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: { text: string; cut: number }[] = [];
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) {
        this.append(s.slice(start));
        break;
      }
      this.append(s.slice(start, nl));
      out.push(this.take());
      start = nl + 1;
    }
    return out;
  }

  /** The last line when the stream ends without a newline. */
  end(): { text: string; cut: number }[] {
    const tail = this.decoder.decode();
    if (tail) this.append(tail);
    return this.pending === '' && this.pendingCut === 0 ? [] : [this.take()];
  }

  private append(part: string): void {
    if (part === '') return;
    const room = this.maxLineLength - this.pending.length;
    if (room >= part.length) this.pending += part;
    else {
      if (room > 0) this.pending += part.slice(0, room);
      this.pendingCut += part.length - Math.max(room, 0);
    }
  }

  private take(): { text: string; cut: number } {
    let text = this.pending;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const r = { text, cut: this.pendingCut };
    this.pending = '';
    this.pendingCut = 0;
    return r;
  }
}

/**
 * Takes the API server's timestamp (`timestamps=true` puts an RFC 3339 time and one space before
 * every line) off the text, so the view can show or hide it without asking the server again.
 */
export function splitTimestamp(line: string): { ts?: string; text: string } {
  const sp = line.indexOf(' ');
  // RFC 3339: YYYY-MM-DDTHH:MM:SS(.fraction)?(Z|±HH:MM) — checked by position, not by pattern.
  if (sp < 20 || sp > 35) return { text: line };
  const ts = line.slice(0, sp);
  if (ts[4] !== '-' || ts[7] !== '-' || ts[10] !== 'T' || ts[13] !== ':' || ts[16] !== ':') return { text: line };
  if (Number.isNaN(Date.parse(ts))) return { text: line };
  return { ts, text: line.slice(sp + 1) };
}

/** A fixed-capacity ring of lines: appending past capacity drops the oldest. */
export class LogBuffer {
  private readonly ring: (LogLine | undefined)[];
  private head = 0; // index of the oldest line
  private count = 0;
  private nextSeq = 0;

  constructor(readonly capacity = 200_000) {
    this.ring = new Array<LogLine | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }
  /** Lines dropped from the start because the buffer was full. */
  get dropped(): number {
    return this.nextSeq - this.count;
  }
  get total(): number {
    return this.nextSeq;
  }

  append(text: string, cut = 0, ts?: string): LogLine {
    const line: LogLine = ts === undefined ? { seq: this.nextSeq++, text, cut } : { seq: this.nextSeq++, text, cut, ts };
    this.push(line);
    return line;
  }

  /** Keeps lines made elsewhere (the webview receives them with their seq already set). */
  push(line: LogLine): void {
    if (this.count < this.capacity) {
      this.ring[(this.head + this.count) % this.capacity] = line;
      this.count++;
    } else {
      this.ring[this.head] = line;
      this.head = (this.head + 1) % this.capacity;
    }
    if (line.seq >= this.nextSeq) this.nextSeq = line.seq + 1;
  }

  /** The i-th line still held, 0 being the oldest. */
  at(i: number): LogLine | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.ring[(this.head + i) % this.capacity];
  }

  *[Symbol.iterator](): IterableIterator<LogLine> {
    for (let i = 0; i < this.count; i++) yield this.at(i) as LogLine;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}

export interface LogFilterSpec {
  readonly query: string;
  readonly regex: boolean;
  readonly caseSensitive: boolean;
}

/** [start, end) offsets into the line's plain (escape-free) text. */
export type MatchRange = readonly [number, number];

export type CompiledFilter =
  | { readonly ok: true; readonly match: (plain: string) => MatchRange[] | undefined }
  | { readonly ok: false; readonly error: string };

/**
 * Compiles what the user typed. An empty query matches every line with no ranges; an invalid
 * regex comes back as an error to show beside the search box, never as an exception.
 */
export function compileFilter(spec: LogFilterSpec): CompiledFilter {
  if (spec.query === '') return { ok: true, match: () => [] };
  if (spec.regex) {
    let re: RegExp;
    try {
      re = new RegExp(spec.query, spec.caseSensitive ? 'gu' : 'giu');
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    return {
      ok: true,
      match: (plain) => {
        re.lastIndex = 0;
        const ranges: MatchRange[] = [];
        let matchedEmpty = false;
        let m: RegExpExecArray | null;
        while ((m = re.exec(plain)) !== null) {
          if (m[0] === '') {
            // An empty match (e.g. /x*/) would loop forever; it still means "the line matches".
            matchedEmpty = true;
            re.lastIndex++;
            continue;
          }
          ranges.push([m.index, m.index + m[0].length]);
        }
        if (ranges.length > 0) return ranges;
        return matchedEmpty ? [] : undefined;
      },
    };
  }
  const needle = spec.caseSensitive ? spec.query : spec.query.toLowerCase();
  return {
    ok: true,
    match: (plain) => {
      const hay = spec.caseSensitive ? plain : plain.toLowerCase();
      let at = hay.indexOf(needle);
      if (at < 0) return undefined;
      const ranges: MatchRange[] = [];
      while (at >= 0) {
        ranges.push([at, at + needle.length]);
        at = hay.indexOf(needle, at + needle.length);
      }
      return ranges;
    },
  };
}

/** Indices (into the buffer) of the lines a filter keeps, in order. */
export function filterIndices(buffer: LogBuffer, match: (plain: string) => MatchRange[] | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; i < buffer.size; i++) {
    const line = buffer.at(i) as LogLine;
    if (match(stripAnsi(line.text)) !== undefined) out.push(i);
  }
  return out;
}
