/**
 * The Events view: a timeline of a pod's (workload's, namespace's) events with Warnings marked,
 * and under each one the explanation the host worked out, with the fix. Container problems from the
 * pod's status come first. When the pod is deleted the timeline stays, with a banner saying so.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import baseCss from '../shared/base.css';
import eventsCss from './events.css';
import { adoptCss, connect, el } from '../shared/vscodeApi';
import { isEventsToView, type EventDto, type EventsToHost, type EventsToView, type EventsViewState, type ExplanationDto, type PanelTarget } from '../protocol/messages';

adoptCss(baseCss);
adoptCss(eventsCss);

let last: Extract<EventsToView, { type: 'snapshot' }> | undefined;
let target: PanelTarget | undefined;
const host = connect<EventsToHost, EventsToView, EventsViewState>(isEventsToView, (s): s is EventsViewState => typeof s === 'object' && s !== null && 'target' in s, (m) => {
  last = m;
  target = m.target;
  save();
  render();
});
let warningsOnly = host.state()?.warningsOnly ?? false;

const title = el('span', { cls: 'grow' });
const warnings = el('vscode-checkbox', { title: 'Show Warning events only' });
warnings.setAttribute('label', 'Warnings only');
warnings.checked = warningsOnly;
const counts = el('vscode-badge');
const refresh = el('vscode-button', { text: 'Refresh' });
refresh.setAttribute('secondary', '');
const logs = el('vscode-button', { text: 'Open Logs' });
logs.setAttribute('secondary', '');
const status = el('span', { cls: 'status' });
const banner = el('div', { cls: 'banner' });
banner.hidden = true;
const problems = el('div');
const timeline = el('div', { cls: 'timeline' });
document.body.append(el('div', { cls: 'toolbar' }, title, warnings, counts, status, refresh, logs), banner, problems, timeline);

warnings.addEventListener('change', () => {
  warningsOnly = warnings.checked;
  save();
  render();
});
refresh.addEventListener('click', () => host.post({ type: 'refresh' }));
logs.addEventListener('click', () => host.post({ type: 'openLogs' }));
host.post({ type: 'ready' });

function save(): void {
  if (target) host.saveState({ target, warningsOnly });
}

function render(): void {
  if (!last) return;
  const m = last;
  title.textContent = `${m.target.kind} ${m.target.namespace}/${m.target.name}`;
  const stateText: Record<typeof m.state, string> = { loading: 'loading…', live: 'live', reconnecting: 'reconnecting…', failed: 'stopped', gone: 'pod deleted' };
  status.textContent = stateText[m.state];
  logs.hidden = m.target.kind !== 'Pod' && m.target.kind !== 'Clone';
  if (m.error) {
    banner.hidden = false;
    banner.className = `banner ${m.state === 'gone' ? 'warn' : 'error'}`;
    banner.textContent = m.error.message;
  } else banner.hidden = true;
  const nWarn = m.entries.filter((e) => e.warning).length;
  counts.textContent = `${nWarn} warning${nWarn === 1 ? '' : 's'} / ${m.entries.length}`;
  problems.replaceChildren(...m.podProblems.map((p) => explanation(p, 'problem')));
  const shown = m.entries.filter((e) => !warningsOnly || e.warning);
  // Newest first: what the user opened the view for is usually the latest.
  const rows = [...shown].reverse().map(eventRow);
  timeline.replaceChildren(...(rows.length ? rows : [el('div', { cls: 'empty muted', text: m.state === 'loading' ? 'Loading events…' : 'No events.' })]));
}

function eventRow(e: EventDto): HTMLElement {
  const row = el('div', { cls: `event${e.warning ? ' warning' : ''}` });
  row.dataset.reason = e.reason;
  const when = e.time ? new Date(e.time) : undefined;
  row.append(
    el('span', { cls: 'time', text: when && !Number.isNaN(when.getTime()) ? when.toLocaleString() : e.time, title: e.time }),
    el('span', { cls: 'type', text: e.warning ? '⚠ Warning' : e.type }),
    el('span', { cls: 'reason', text: e.reason }),
    el('span', { cls: 'message', text: e.message }),
    el('span', { cls: 'meta', text: `${e.object}${e.source ? ` · ${e.source}` : ''}${e.count > 1 ? ` · ×${e.count}` : ''}` }),
  );
  if (e.explanation) row.append(explanation(e.explanation, 'explain'));
  return row;
}

function explanation(x: ExplanationDto, cls: string): HTMLElement {
  const box = el('div', { cls }, el('h4', { text: x.summary }));
  if (x.reasons.length) box.append(el('div', { cls: 'label', text: 'Why' }), el('ul', {}, ...x.reasons.map((r) => el('li', { text: r }))));
  if (x.fixes.length) box.append(el('div', { cls: 'label', text: 'Fix' }), el('ul', {}, ...x.fixes.map((f) => el('li', { text: f }))));
  return box;
}
