/**
 * The Logs view: a live, virtualised log with container picker, previous instance, since/tail,
 * search or filter (plain or regex) with highlighting, auto-scroll that pauses when the user scrolls
 * up, wrap, timestamps, ANSI colours, and download (done by the host, which keeps its own copy).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import baseCss from '../shared/base.css';
import logsCss from './logs.css';
import { adoptCss, connect, el } from '../shared/vscodeApi';
import { VirtualList } from '../shared/virtualList';
import { LogBuffer, compileFilter, type MatchRange } from '../../extension/core/observe/logModel';
import { stripAnsi } from '../../extension/core/observe/ansi';
import { isLogsToView, type ContainerDto, type LogLineDto, type LogStreamOptions, type LogsToHost, type LogsToView, type LogsViewState, type PanelTarget } from '../protocol/messages';
import { renderLine } from './render';

adoptCss(baseCss);
adoptCss(logsCss);

const rowHeight = 18;
document.documentElement.style.setProperty('--row-height', `${rowHeight}px`);

interface Ui {
  target?: PanelTarget;
  options: LogStreamOptions;
  containers: readonly ContainerDto[];
  query: string;
  regex: boolean;
  caseSensitive: boolean;
  onlyMatches: boolean;
  wrap: boolean;
  timestamps: boolean;
  follow: boolean;
}

const buffer = new LogBuffer(200_000);
/** Buffer indices shown when "only matching lines" is on. */
let visible: number[] | undefined;
let matcher: ((plain: string) => MatchRange[] | undefined) | undefined;
let matchCount = 0;

const ui: Ui = { options: { container: '', previous: false, sinceSeconds: 0, tailLines: -1 }, containers: [], query: '', regex: false, caseSensitive: false, onlyMatches: true, wrap: false, timestamps: false, follow: true };

const host = connect<LogsToHost, LogsToView, LogsViewState>(isLogsToView, (s): s is LogsViewState => typeof s === 'object' && s !== null && 'target' in s && 'options' in s, onMessage);
const saved = host.state();
if (saved) Object.assign(ui, { ...saved, containers: [] });

// ---------- DOM ----------
const containerSelect = el('vscode-single-select', { title: 'Container' });
const previous = checkbox('Previous', 'The log of the instance before the last restart');
const since = select(
  [
    ['0', 'All time'],
    ['300', 'Last 5 min'],
    ['3600', 'Last hour'],
    ['86400', 'Last day'],
  ],
  'Since',
);
const tail = select(
  [
    ['-1', 'All lines'],
    ['100', 'Last 100'],
    ['1000', 'Last 1,000'],
    ['10000', 'Last 10,000'],
  ],
  'Tail',
);
const search = el('vscode-textfield', { cls: 'search grow' });
search.setAttribute('placeholder', 'Search');
const regex = checkbox('.*', 'Regular expression');
const caseSensitive = checkbox('Aa', 'Match case');
const onlyMatches = checkbox('Filter', 'Show only matching lines');
const follow = checkbox('Follow', 'Scroll with new lines (pauses when you scroll up)');
const wrap = checkbox('Wrap', 'Wrap long lines');
const timestamps = checkbox('Time', 'Show timestamps');
const download = el('vscode-button', { text: 'Download' });
download.setAttribute('secondary', '');
const status = el('span', { cls: 'status' });
const filterError = el('span', { cls: 'filter-error' });
const banner = el('div', { cls: 'banner' });
banner.hidden = true;
// The toolbar's web components take longer to render than the first screen of lines, which is
// what the user opened the view for: lines paint first, the controls fill their reserved row
// on the next frame (or at once when no line comes soon).
const toolbar = el('div', { cls: 'toolbar deferred' });
const viewport = el('div', { cls: 'viewport' });
document.body.append(toolbar, banner, viewport);
let toolbarFilled = false;
function fillToolbar(): void {
  if (toolbarFilled) return;
  toolbarFilled = true;
  toolbar.classList.remove('deferred');
  toolbar.append(containerSelect, previous, since, tail, search, regex, caseSensitive, onlyMatches, filterError, follow, wrap, timestamps, download, status);
}
const fillSoon = setTimeout(fillToolbar, 150);

const charWidth = measureCharWidth();
const list = new VirtualList({
  viewport,
  rowHeight,
  count: () => (visible ? visible.length : buffer.size),
  render: (i) => {
    const line = buffer.at(visible ? (visible[i] as number) : i) as LogLineDto;
    const ranges = matcher ? (matcher(stripAnsi(line.text)) ?? []) : [];
    return renderLine(line, ranges, ui.timestamps);
  },
  onAtBottomChange: (atBottom) => {
    // Scrolling up pauses auto-scroll; coming back to the bottom resumes it.
    if (ui.follow !== atBottom) {
      ui.follow = atBottom;
      follow.checked = atBottom;
      list.stickToBottom = atBottom;
      save();
    }
  },
});

function spanOf(i: number): number {
  const line = buffer.at(visible ? (visible[i] as number) : i);
  if (!line) return 1;
  const cols = Math.max(20, Math.floor((viewport.clientWidth - 20) / charWidth));
  const len = (ui.timestamps && line.ts ? line.ts.length + 1 : 0) + line.text.length + (line.cut ? 40 : 0);
  return Math.max(1, Math.ceil(len / cols));
}

// ---------- wiring ----------
containerSelect.addEventListener('change', () => reopen({ container: containerSelect.value }));
previous.addEventListener('change', () => reopen({ previous: previous.checked }));
since.addEventListener('change', () => reopen({ sinceSeconds: Number(since.value) }));
tail.addEventListener('change', () => reopen({ tailLines: Number(tail.value) }));
let searchTimer: ReturnType<typeof setTimeout> | undefined;
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    ui.query = search.value;
    applyFilter();
  }, 120);
});
for (const [box, key] of [
  [regex, 'regex'],
  [caseSensitive, 'caseSensitive'],
  [onlyMatches, 'onlyMatches'],
] as const) {
  box.addEventListener('change', () => {
    ui[key] = box.checked;
    applyFilter();
  });
}
follow.addEventListener('change', () => {
  ui.follow = follow.checked;
  list.stickToBottom = ui.follow;
  if (ui.follow) list.scrollToBottom();
  save();
});
wrap.addEventListener('change', () => {
  ui.wrap = wrap.checked;
  applyWrap();
  save();
});
timestamps.addEventListener('change', () => {
  ui.timestamps = timestamps.checked;
  list.invalidate();
  save();
});
download.addEventListener('click', () => host.post({ type: 'download' }));

syncControls();
applyWrap();
host.post({ type: 'ready' });

function onMessage(m: LogsToView): void {
  switch (m.type) {
    case 'init':
      ui.target = m.target;
      ui.containers = m.containers;
      // A restored panel keeps its own choices when the container still exists.
      if (!saved || !m.containers.some((c) => c.name === ui.options.container)) ui.options = m.options;
      fillContainers();
      syncControls();
      save();
      if (JSON.stringify(ui.options) !== JSON.stringify(m.options)) host.post({ type: 'open', options: ui.options });
      break;
    case 'reset':
      ui.options = m.options;
      buffer.clear();
      visible = matcher && ui.onlyMatches && ui.query ? [] : undefined;
      matchCount = 0;
      syncControls();
      list.invalidate();
      break;
    case 'lines':
      ingest(m.lines);
      if (!toolbarFilled) {
        clearTimeout(fillSoon);
        requestAnimationFrame(() => requestAnimationFrame(fillToolbar));
      }
      break;
    case 'status':
      showStatus(m);
      break;
  }
}

function ingest(lines: readonly LogLineDto[]): void {
  const droppedBefore = buffer.dropped;
  for (const l of lines) buffer.push(l);
  if (buffer.dropped !== droppedBefore && visible) {
    // Old lines fell out of the ring: recompute which indices still match.
    applyFilter();
    return;
  }
  if (matcher && ui.query) {
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k] as LogLineDto;
      if (matcher(stripAnsi(line.text)) !== undefined) {
        matchCount++;
        visible?.push(buffer.size - lines.length + k);
      }
    }
  }
  updateCount();
  list.appended();
}

function applyFilter(): void {
  const compiled = compileFilter({ query: ui.query, regex: ui.regex, caseSensitive: ui.caseSensitive });
  filterError.textContent = compiled.ok ? '' : compiled.error;
  matcher = compiled.ok && ui.query ? compiled.match : undefined;
  visible = undefined;
  matchCount = 0;
  if (matcher) {
    const keep: number[] = [];
    for (let i = 0; i < buffer.size; i++) if (matcher(stripAnsi((buffer.at(i) as LogLineDto).text)) !== undefined) keep.push(i);
    matchCount = keep.length;
    if (ui.onlyMatches) visible = keep;
  }
  updateCount();
  list.invalidate();
  save();
}

function applyWrap(): void {
  viewport.classList.toggle('wrap', ui.wrap);
  // Wrapped rows differ in height: the list then sums estimated heights instead of a fixed one.
  list.setSpan(ui.wrap ? spanOf : undefined);
}

function reopen(change: Partial<LogStreamOptions>): void {
  ui.options = { ...ui.options, ...change };
  save();
  host.post({ type: 'open', options: ui.options });
}

function showStatus(m: Extract<LogsToView, { type: 'status' }>): void {
  const text: Record<typeof m.state, string> = { starting: 'connecting…', following: 'following', ended: 'ended', gone: 'pod deleted', failed: 'failed' };
  status.textContent = text[m.state];
  if (m.error) {
    banner.hidden = false;
    banner.className = `banner ${m.state === 'gone' ? 'warn' : 'error'}`;
    banner.textContent = m.error.message;
  } else {
    banner.hidden = true;
  }
}

function updateCount(): void {
  const total = buffer.size.toLocaleString();
  const dropped = buffer.dropped ? ` (${buffer.dropped.toLocaleString()} oldest dropped)` : '';
  status.dataset.count = String(buffer.size);
  status.title = `${total} lines${dropped}${matcher ? `, ${matchCount.toLocaleString()} matching` : ''}`;
  status.textContent = `${matcher ? `${matchCount.toLocaleString()} / ` : ''}${total} lines`;
}

function fillContainers(): void {
  containerSelect.replaceChildren(
    ...ui.containers.map((c) => {
      const o = el('vscode-option', { text: `${c.name}${c.kind === 'app' ? '' : ` (${c.kind})`}${c.restarts ? ` ↻${c.restarts}` : ''}` });
      o.setAttribute('value', c.name);
      return o;
    }),
  );
  containerSelect.value = ui.options.container;
}

function syncControls(): void {
  containerSelect.value = ui.options.container;
  previous.checked = ui.options.previous;
  since.value = String(ui.options.sinceSeconds);
  tail.value = String(ui.options.tailLines);
  search.value = ui.query;
  regex.checked = ui.regex;
  caseSensitive.checked = ui.caseSensitive;
  onlyMatches.checked = ui.onlyMatches;
  follow.checked = ui.follow;
  wrap.checked = ui.wrap;
  timestamps.checked = ui.timestamps;
  list.stickToBottom = ui.follow;
  if (ui.query) applyFilter();
}

function save(): void {
  if (!ui.target) return;
  host.saveState({ target: ui.target, options: ui.options, query: ui.query, regex: ui.regex, caseSensitive: ui.caseSensitive, onlyMatches: ui.onlyMatches, wrap: ui.wrap, timestamps: ui.timestamps, follow: ui.follow });
}

function checkbox(label: string, title: string) {
  const c = el('vscode-checkbox', { title });
  c.setAttribute('label', label);
  return c;
}

function select(options: [string, string][], title: string) {
  const s = el('vscode-single-select', { title });
  for (const [value, text] of options) {
    const o = el('vscode-option', { text });
    o.setAttribute('value', value);
    s.append(o);
  }
  return s;
}

function measureCharWidth(): number {
  const probe = el('span', { text: 'x'.repeat(100) });
  probe.style.position = 'absolute';
  probe.style.visibility = 'hidden';
  viewport.append(probe);
  const w = probe.getBoundingClientRect().width / 100 || 7.8;
  probe.remove();
  return w;
}
