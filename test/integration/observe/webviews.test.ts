/**
 * The observe webviews in headless Chromium under their real CSP: the ready handshake, guarded
 * messages, rendering (ANSI colours, search highlights, cut markers, explanations, packet rows,
 * tcpdump's error), and state kept for a reload.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { waitFor } from '../../support/wait';
import { webviewHarness, type WebviewHarness } from './webviewPage';
import type { CaptureToView, EventsToView, LogsToView } from '../../../webview/protocol/messages';

let h: WebviewHarness;
before(async () => {
  h = await webviewHarness(['logs', 'events', 'capture']);
});
after(async () => {
  await h?.close();
});

/**
 * Polls an expression in the page from here: Playwright's own polling evaluates strings with eval
 * inside the page, which the webview's CSP (rightly) forbids.
 */
const until = (page: Page, expr: string) => waitFor(expr, async () => (await page.evaluate<unknown>(expr)) || undefined, { timeoutMs: 30_000, intervalMs: 25 });
const posted = (page: Page) => page.evaluate<{ type: string; [k: string]: unknown }[]>('window.__posted');
const send = (page: Page, m: LogsToView | EventsToView | CaptureToView | Record<string, unknown>) => page.evaluate((x) => window.postMessage(x, '*'), m);
const target = { kind: 'Pod', namespace: 'shop', name: 'orders-1' };
const options = { container: 'app', previous: false, sinceSeconds: 0, tailLines: -1 };

test('logs: ready first, guarded messages, ANSI, highlights, cut marker, state for a reload', async () => {
  const { page, errors } = await h.open('logs');
  await until(page, 'window.__posted.length > 0');
  assert.deepEqual(await posted(page), [{ type: 'ready' }]);
  await send(page, { type: 'lines', lines: 'not an array' });
  await send(page, { type: 'init', target, containers: [{ name: 'app', kind: 'app', state: 'running', restarts: 0, hasPrevious: false }, { name: 'init-db', kind: 'init', state: 'terminated', restarts: 0, hasPrevious: false }], options });
  await send(page, { type: 'reset', options });
  await send(page, {
    type: 'lines',
    lines: [
      { seq: 0, text: '\x1b[31mERROR\x1b[0m payment failed', ts: '2026-11-22T02:00:00Z', cut: 0 },
      { seq: 1, text: 'INFO all good', cut: 0 },
      { seq: 2, text: 'x'.repeat(100), cut: 123456 },
    ],
  });
  await until(page, "document.querySelectorAll('.line').length === 3");
  const red = await page.evaluate<string | undefined>("(() => { const s = document.querySelector('.line .text span'); return s ? s.textContent + '|' + s.style.color : undefined; })()");
  assert.equal(red, 'ERROR|var(--vscode-terminal-ansiRed)');
  assert.match((await page.textContent('.line .cut')) ?? '', /123,456 more characters cut/);
  // Search: with "filter" on (the default) only matching lines stay, the match highlighted.
  await page.evaluate("(() => { const f = document.querySelector('vscode-textfield.search'); f.value = 'payment'; f.dispatchEvent(new Event('input')); })()");
  await until(page, "document.querySelectorAll('.line').length === 1");
  assert.equal(await page.textContent('.line mark'), 'payment');
  // An invalid regex is shown, not thrown.
  await page.evaluate("(() => { const r = [...document.querySelectorAll('vscode-checkbox')].find((c) => c.getAttribute('label') === '.*'); r.checked = true; r.dispatchEvent(new Event('change')); const f = document.querySelector('vscode-textfield.search'); f.value = '(oops'; f.dispatchEvent(new Event('input')); })()");
  await until(page, "document.querySelector('.filter-error').textContent.length > 0");
  // A status with an error keeps the lines and says why.
  await send(page, { type: 'status', state: 'gone', error: { reason: 'not-found', message: 'Pod "orders-1" was deleted; the log stopped.' } });
  await until(page, "!document.querySelector('.banner').hidden");
  assert.match((await page.textContent('.banner')) ?? '', /was deleted/);
  // Changing the container asks the host for a new stream.
  await page.evaluate("(() => { const s = document.querySelector('vscode-single-select'); s.value = 'init-db'; s.dispatchEvent(new Event('change')); })()");
  await until(page, "window.__posted.some((m) => m.type === 'open')");
  const open = (await posted(page)).find((m) => m.type === 'open');
  assert.deepEqual(open?.options, { ...options, container: 'init-db' });
  const state = await page.evaluate<Record<string, unknown>>('window.__states[window.__states.length - 1]');
  assert.deepEqual(state.target, target);
  assert.equal(state.query, '(oops');
  assert.equal(state.regex, true);
  assert.deepEqual(errors, []);

  // A reloaded page gets its state back and asks for the stream it showed.
  const again = await h.open('logs', { state });
  await until(again.page, "window.__posted.some((m) => m.type === 'ready')");
  await send(again.page, { type: 'init', target, containers: [{ name: 'app', kind: 'app', state: 'running', restarts: 0, hasPrevious: false }, { name: 'init-db', kind: 'init', state: 'terminated', restarts: 0, hasPrevious: false }], options });
  await until(again.page, "window.__posted.some((m) => m.type === 'open')");
  assert.equal((await posted(again.page)).find((m) => m.type === 'open')?.options && ((await posted(again.page)).find((m) => m.type === 'open')?.options as { container: string }).container, 'init-db');
  // The toolbar fills in after the first lines, or shortly after opening when none come.
  await until(again.page, "document.querySelector('vscode-textfield.search') !== null");
  assert.equal(await again.page.evaluate<string>("document.querySelector('vscode-textfield.search').value"), '(oops');
  assert.deepEqual(again.errors, []);
});

test('logs: 100,000 lines stay virtualised', async () => {
  const { page, errors } = await h.open('logs');
  await until(page, 'window.__posted.length > 0');
  await send(page, { type: 'init', target, containers: [{ name: 'app', kind: 'app', state: 'running', restarts: 0, hasPrevious: false }], options });
  await page.evaluate(`(() => { for (let i = 0; i < 100000; i += 5000) { const b = []; for (let k = i; k < i + 5000; k++) b.push({ seq: k, text: 'line ' + k, cut: 0 }); window.postMessage({ type: 'lines', lines: b }, '*'); } })()`);
  await until(page, "document.querySelector('.status').dataset.count === '100000'");
  await until(page, "[...document.querySelectorAll('.line')].some((l) => l.textContent === 'line 99999')");
  const rendered = await page.evaluate<number>("document.querySelectorAll('.line').length");
  assert.ok(rendered > 0 && rendered < 200, `${rendered} rows in the DOM`);
  assert.deepEqual(errors, []);
});

test('events: warnings marked, explanations with fixes, pod gone banner', async () => {
  const { page, errors } = await h.open('events');
  await until(page, 'window.__posted.length > 0');
  await send(page, {
    type: 'snapshot',
    target,
    state: 'gone',
    error: { reason: 'not-found', message: 'Pod "orders-1" no longer exists.' },
    podProblems: [{ summary: 'Container "app" is crash-looping.', reasons: ['exit code 1'], fixes: ['Open its previous log'] }],
    entries: [
      { uid: '1', time: '2026-11-22T02:00:00Z', type: 'Normal', warning: false, reason: 'Scheduled', message: 'assigned', count: 1, object: 'Pod/orders-1', source: 'default-scheduler' },
      { uid: '2', time: '2026-11-22T02:01:00Z', type: 'Warning', warning: true, reason: 'FailedScheduling', message: '0/2 nodes are available: 2 Insufficient cpu.', count: 3, object: 'Pod/orders-1', source: 'default-scheduler', explanation: { summary: 'orders-1 cannot be placed.', reasons: ['Not enough cpu: the pod requests 64 cpu.'], fixes: ['Lower resources.requests.cpu'] } },
    ],
  });
  await until(page, "document.querySelectorAll('.event').length === 2");
  assert.equal(await page.getAttribute('.event.warning', 'data-reason'), 'FailedScheduling');
  assert.match((await page.textContent('.event.warning .explain')) ?? '', /Not enough cpu: the pod requests 64 cpu\..*Lower resources\.requests\.cpu/);
  assert.match((await page.textContent('.problem')) ?? '', /crash-looping/);
  assert.match((await page.textContent('.banner')) ?? '', /no longer exists/);
  await page.evaluate("(() => { const c = document.querySelector('vscode-checkbox'); c.checked = true; c.dispatchEvent(new Event('change')); })()");
  await until(page, "document.querySelectorAll('.event').length === 1");
  assert.deepEqual(await page.evaluate("window.__states[window.__states.length - 1]"), { target, warningsOnly: true });
  assert.deepEqual(errors, []);
});

test('capture: start with a filter, rows as columns, tcpdump\'s error shown, HTTP table', async () => {
  const { page, errors } = await h.open('capture');
  await until(page, 'window.__posted.length > 0');
  await send(page, { type: 'init', target, filter: 'tcp port 8080', startFile: '/devlane/capture/' });
  await page.evaluate("document.querySelectorAll('vscode-button')[0].click()");
  await until(page, "window.__posted.some((m) => m.type === 'start')");
  assert.deepEqual((await posted(page)).find((m) => m.type === 'start'), { type: 'start', filter: 'tcp port 8080' });
  await send(page, { type: 'status', state: 'failed', error: { reason: 'capture-filter', message: 'tcpdump rejected the filter "tcp port": tcpdump: can\'t parse filter expression: syntax error.' } });
  await until(page, "!document.querySelector('.banner').hidden");
  assert.match((await page.textContent('.banner')) ?? '', /can't parse filter expression/);
  await send(page, { type: 'status', state: 'running' });
  await send(page, { type: 'rows', rows: [{ time: '2026-11-22 02:29:46.995681', iface: 'lo', direction: 'In', source: '127.0.0.1:36310', destination: '127.0.0.1:8080', protocol: 'TCP', flags: 'P.', length: 79, summary: 'HTTP: GET /x HTTP/1.1' }] });
  await until(page, "document.querySelectorAll('.row').length === 1");
  assert.deepEqual(await page.$$eval('.row span', (s) => s.map((x) => x.textContent)), ['02:29:46.995681', 'lo In', '127.0.0.1:36310', '127.0.0.1:8080', 'TCP', 'P.', '79', 'HTTP: GET /x HTTP/1.1']);
  await send(page, { type: 'http', exchanges: [{ client: '127.0.0.1:36310', server: '127.0.0.1:8080', time: 1790000000, method: 'GET', target: '/x', status: 503, reason: 'Service Unavailable', latencyMs: 1.5, requestBodyBytes: 0, responseBodyBytes: 12 }] });
  await until(page, "!document.querySelector('.http-table').hidden");
  assert.match((await page.textContent('.http-table')) ?? '', /GET \/x.*503 Service Unavailable.*1\.5 ms/);
  assert.deepEqual(errors, []);
});
