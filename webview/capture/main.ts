/**
 * The Capture view: start/stop tcpdump in the pod with a BPF filter, packets as columns while they
 * come, HTTP/1.x exchanges summarised from the pcap, pcap download, and a clone's capture taken
 * from its start shown the same way. tcpdump's own message is shown when it refuses a filter.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import baseCss from '../shared/base.css';
import captureCss from './capture.css';
import { adoptCss, connect, el } from '../shared/vscodeApi';
import { VirtualList } from '../shared/virtualList';
import { isCaptureToView, type CaptureToHost, type CaptureToView, type CaptureViewState, type HttpExchangeDto, type PacketRowDto, type PanelTarget } from '../protocol/messages';

adoptCss(baseCss);
adoptCss(captureCss);

const rows: PacketRowDto[] = [];
let target: PanelTarget | undefined;
let running = false;
let statusLabel = '';

const host = connect<CaptureToHost, CaptureToView, CaptureViewState>(isCaptureToView, (s): s is CaptureViewState => typeof s === 'object' && s !== null && 'target' in s, onMessage);
const saved = host.state();

const filter = el('vscode-textfield', { cls: 'filter grow', title: 'BPF filter (pcap-filter syntax), e.g. tcp port 8080' });
filter.setAttribute('placeholder', 'Filter, e.g. tcp port 8080');
filter.value = saved?.filter ?? '';
const start = el('vscode-button', { text: 'Start' });
const stop = el('vscode-button', { text: 'Stop' });
stop.setAttribute('secondary', '');
const http = el('vscode-button', { text: 'HTTP Summary' });
http.setAttribute('secondary', '');
const pcap = el('vscode-button', { text: 'Download pcap' });
pcap.setAttribute('secondary', '');
const startFile = el('vscode-button', { text: 'Capture from Start' });
startFile.setAttribute('secondary', '');
startFile.hidden = true;
const status = el('span', { cls: 'status' });
const banner = el('div', { cls: 'banner' });
banner.hidden = true;
const head = el('div', { cls: 'head' }, ...['Time', 'If', 'Source', 'Destination', 'Proto', 'Flags', 'Length', 'Summary'].map((t) => el('span', { text: t })));
const viewport = el('div', { cls: 'viewport' });
const httpTable = el('div', { cls: 'http-table' });
httpTable.hidden = true;
document.body.append(el('div', { cls: 'toolbar' }, filter, start, stop, http, pcap, startFile, status), banner, head, viewport, httpTable);

const list = new VirtualList({
  viewport,
  rowHeight: 18,
  count: () => rows.length,
  render: (i) => {
    const r = rows[i] as PacketRowDto;
    const row = el(
      'div',
      { cls: `row${r.summary.startsWith('HTTP') ? ' http' : ''}`, title: r.summary },
      el('span', { text: r.time.slice(11) || '' }),
      el('span', { text: r.iface ? `${r.iface}${r.direction ? ` ${r.direction}` : ''}` : '' }),
      el('span', { text: r.source }),
      el('span', { text: r.destination }),
      el('span', { text: r.protocol }),
      el('span', { text: r.flags }),
      el('span', { text: r.length === undefined ? '' : String(r.length) }),
      el('span', { cls: 'summary', text: r.summary }),
    );
    return row;
  },
});

start.addEventListener('click', () => {
  save();
  host.post({ type: 'start', filter: filter.value });
});
filter.addEventListener('keydown', (e: KeyboardEvent) => {
  if (e.key === 'Enter' && !running) host.post({ type: 'start', filter: filter.value });
});
stop.addEventListener('click', () => host.post({ type: 'stop' }));
http.addEventListener('click', () => host.post({ type: 'summarise' }));
pcap.addEventListener('click', () => host.post({ type: 'download' }));
startFile.addEventListener('click', () => host.post({ type: 'openStartFile' }));
setRunning(false);
host.post({ type: 'ready' });

function onMessage(m: CaptureToView): void {
  switch (m.type) {
    case 'init':
      target = m.target;
      if (!saved) filter.value = m.filter;
      startFile.hidden = !m.startFile;
      startFile.title = m.startFile ? `Open ${m.startFile}, captured since the clone started` : '';
      save();
      break;
    case 'clear':
      rows.length = 0;
      httpTable.hidden = true;
      statusLabel = m.title;
      showStatus();
      list.invalidate();
      break;
    case 'rows':
      rows.push(...m.rows);
      status.dataset.count = String(rows.length);
      showStatus();
      list.appended();
      break;
    case 'http':
      showHttp(m.exchanges);
      break;
    case 'status': {
      setRunning(m.state === 'running' || m.state === 'starting');
      statusLabel = `${m.state === 'file' ? '' : m.state}${m.detail ? ` ${m.detail}` : ''}`.trim();
      showStatus();
      if (m.error) {
        banner.hidden = false;
        banner.className = 'banner error';
        banner.textContent = m.error.message;
      } else if (m.state === 'running' || m.state === 'starting') banner.hidden = true;
      break;
    }
  }
}

/** The state and the packet count, which grows with every batch of rows. */
function showStatus(): void {
  status.textContent = `${statusLabel ? `${statusLabel} · ` : ''}${rows.length} packets`;
}

function setRunning(r: boolean): void {
  running = r;
  start.disabled = r;
  stop.disabled = !r;
}

function showHttp(exchanges: readonly HttpExchangeDto[]): void {
  httpTable.hidden = false;
  if (exchanges.length === 0) {
    httpTable.replaceChildren(el('div', { cls: 'banner muted', text: 'No HTTP/1.x requests in this capture (HTTPS and HTTP/2 cannot be read).' }));
    return;
  }
  const table = el('table', {}, el('tr', {}, ...['Time', 'Client', 'Server', 'Request', 'Status', 'Latency', 'Bytes in/out'].map((t) => el('th', { text: t }))));
  for (const x of exchanges) {
    table.append(
      el(
        'tr',
        {},
        el('td', { text: new Date(x.time * 1000).toISOString().slice(11, 23) }),
        el('td', { text: x.client }),
        el('td', { text: x.host && x.host !== x.server ? `${x.host} (${x.server})` : x.server }),
        el('td', { text: `${x.method} ${x.target}` }),
        el('td', { cls: (x.status ?? 0) >= 400 ? 'bad' : '', text: x.status === undefined ? '(no response)' : `${x.status} ${x.reason ?? ''}` }),
        el('td', { text: x.latencyMs === undefined ? '' : `${x.latencyMs} ms` }),
        el('td', { text: `${x.requestBodyBytes} / ${x.responseBodyBytes ?? '-'}` }),
      ),
    );
  }
  httpTable.replaceChildren(table);
}

function save(): void {
  if (target) host.saveState({ target, filter: filter.value });
}
