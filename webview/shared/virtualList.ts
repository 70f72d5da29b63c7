/**
 * A list that only builds the rows in view, so 100,000+ rows scroll and update as fast as 50. Rows
 * have a fixed height, or (for wrapped log lines) an estimated one from their text length; heights
 * are summed lazily and rebuilt only when rows change.
 */

export interface VirtualListOptions {
  readonly viewport: HTMLElement;
  readonly rowHeight: number;
  readonly count: () => number;
  readonly render: (index: number) => HTMLElement;
  /** Row height multiplier (lines a wrapped row takes); absent means fixed height. */
  readonly span?: (index: number) => number;
  /** Called when the user scrolls away from / back to the bottom. */
  readonly onAtBottomChange?: (atBottom: boolean) => void;
}

export class VirtualList {
  private readonly spacer: HTMLDivElement;
  private readonly rows: HTMLDivElement;
  private offsets?: Float64Array;
  private frame = 0;
  private atBottom = true;
  private programmaticScroll = false;
  private lastKey = '';
  stickToBottom = true;
  private span?: (index: number) => number;

  constructor(private readonly o: VirtualListOptions) {
    this.span = o.span;
    this.spacer = document.createElement('div');
    this.spacer.className = 'vl-spacer';
    this.rows = document.createElement('div');
    this.rows.className = 'vl-rows';
    o.viewport.append(this.spacer, this.rows);
    o.viewport.addEventListener('scroll', () => {
      const bottom = o.viewport.scrollTop + o.viewport.clientHeight >= o.viewport.scrollHeight - 2 * o.rowHeight;
      if (!this.programmaticScroll && bottom !== this.atBottom) {
        this.atBottom = bottom;
        o.onAtBottomChange?.(bottom);
      }
      this.programmaticScroll = false;
      this.schedule();
    });
    new ResizeObserver(() => this.invalidate()).observe(o.viewport);
  }

  /** Row count or heights changed (new lines, a new filter, wrap toggled). */
  invalidate(): void {
    this.offsets = undefined;
    this.lastKey = '';
    this.schedule();
  }

  /** Switches between fixed-height rows (undefined) and estimated heights. */
  setSpan(span: ((index: number) => number) | undefined): void {
    this.span = span;
    this.invalidate();
  }

  /** Rows were only appended. */
  appended(): void {
    if (this.span) this.offsets = undefined;
    this.schedule();
  }

  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Renders now (the benchmark and tests measure this path). */
  render(): void {
    const n = this.o.count();
    const h = this.o.rowHeight;
    const total = this.topOf(n);
    this.spacer.style.height = `${total}px`;
    if (this.stickToBottom && this.atBottom) {
      this.programmaticScroll = this.o.viewport.scrollTop !== Math.max(0, total - this.o.viewport.clientHeight);
      this.o.viewport.scrollTop = total;
    }
    const top = this.o.viewport.scrollTop;
    const first = Math.max(0, this.indexAt(top) - 5);
    const visible = Math.ceil(this.o.viewport.clientHeight / h) + 10;
    const last = Math.min(n, first + visible);
    const key = `${first}:${last}:${n}`;
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.rows.style.transform = `translateY(${this.topOf(first)}px)`;
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.append(this.o.render(i));
    this.rows.replaceChildren(frag);
  }

  scrollToIndex(i: number): void {
    this.o.viewport.scrollTop = this.topOf(i) - this.o.viewport.clientHeight / 3;
    this.lastKey = '';
    this.schedule();
  }

  scrollToBottom(): void {
    this.atBottom = true;
    this.lastKey = '';
    this.schedule();
  }

  private topOf(i: number): number {
    if (!this.span) return i * this.o.rowHeight;
    const off = this.ensureOffsets();
    return off[Math.min(i, off.length - 1)] ?? 0;
  }

  private indexAt(y: number): number {
    if (!this.span) return Math.floor(y / this.o.rowHeight);
    const off = this.ensureOffsets();
    let lo = 0;
    let hi = off.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((off[mid] ?? 0) <= y) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private ensureOffsets(): Float64Array {
    if (this.offsets) return this.offsets;
    const n = this.o.count();
    const off = new Float64Array(n + 1);
    const span = this.span as (i: number) => number;
    for (let i = 0; i < n; i++) off[i + 1] = (off[i] ?? 0) + span(i) * this.o.rowHeight;
    this.offsets = off;
    return off;
  }
}
