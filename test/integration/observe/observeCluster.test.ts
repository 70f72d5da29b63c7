/**
 * The observe features against the test cluster: the real scheduler's FailedScheduling explained,
 * a log followed live (and its pod deleted under it), a packet capture in a pod that sees the HTTP
 * request the test sends, tcpdump's own error for a bad filter, and an audited shell.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { limitedUser, testCluster, testNamespace, waitForPodReady, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { silentLogger } from '../../../extension/core/log';
import { DevlaneError } from '../../../extension/core/errors';
import { EventsFeed, eventSource, type EventsSnapshot } from '../../../extension/core/observe/eventsFeed';
import { ResilientWatch } from '../../../extension/core/observe/resilientWatch';
import { parseSchedulingMessage } from '../../../extension/core/observe/explain';
import { LogFollow, type LogEnd } from '../../../extension/core/observe/logFollow';
import type { LogLine } from '../../../extension/core/observe/logModel';
import { CaptureSession, checkFilter, openStartCapture } from '../../../extension/core/observe/capture';
import { execCollect } from '../../../extension/core/kube/exec';
import { readPcap } from '../../../extension/core/observe/pcap';
import { httpExchanges } from '../../../extension/core/observe/http';
import { AuditLog, readAuditLog } from '../../../extension/core/observe/audit';
import { PodShell } from '../../../extension/core/observe/shell';

let kc: KubeConfig;
let ns: TestNamespace;
let core: CoreV1Api;

before(async () => {
  kc = (await testCluster()).kc;
  core = kc.makeApiClient(CoreV1Api);
  ns = await testNamespace(kc, 'observe');
});
after(async () => {
  await ns?.dispose();
});

const pod = (name: string, spec: V1Pod['spec']): V1Pod => ({ metadata: { name }, spec: { terminationGracePeriodSeconds: 1, ...spec } as V1Pod['spec'] });

test('an over-sized pod: the real scheduler says FailedScheduling, the explanation names the numbers', async (t) => {
  await core.createNamespacedPod({ namespace: ns.name, body: pod('too-big', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'exec sleep 3600'], resources: { requests: { cpu: '64', memory: '1Gi' } } }] }) });
  const feed = new EventsFeed(kc, { kind: 'Pod', namespace: ns.name, name: 'too-big' }, silentLogger);
  t.after(() => feed.dispose());
  let snap: EventsSnapshot | undefined;
  feed.onDidUpdate((s) => (snap = s));
  feed.start();
  const entry = await waitFor('FailedScheduling explained', () => snap?.entries.find((e) => e.reason === 'FailedScheduling' && e.explanation), { timeoutMs: 90_000, intervalMs: 200 });
  assert.equal(entry.warning, true);
  const parsed = parseSchedulingMessage(entry.message);
  assert.ok(parsed.totalNodes !== undefined && parsed.totalNodes >= 1, entry.message);
  assert.deepEqual(
    parsed.items.map((i) => i.reason),
    ['Insufficient cpu'],
    entry.message,
  );
  assert.equal(parsed.items[0]?.count, parsed.totalNodes);
  const x = entry.explanation!;
  assert.match(x.reasons[0] ?? '', /Not enough cpu on \d+ nodes?: the pod requests 64 cpu\. The node with the most room, devlane-node-\d, has 4 allocatable/);
  assert.match(x.fixes[0] ?? '', /Lower resources\.requests\.cpu of container "app" \(now 64\) to at most/);
  assert.equal(snap?.state, 'live');

  // Deleted while viewed: the feed says so and keeps the timeline.
  await core.deleteNamespacedPod({ name: 'too-big', namespace: ns.name, gracePeriodSeconds: 0 });
  feed.onDidUpdate(() => undefined);
  await feed.refresh();
  assert.equal(snap?.state, 'gone');
  assert.match(snap?.error?.message ?? '', /no longer exists/);
  assert.ok(snap?.entries.some((e) => e.reason === 'FailedScheduling'));
});

test('a crash-looping container: its status explained, its previous instance\'s log readable', async (t) => {
  await core.createNamespacedPod({ namespace: ns.name, body: pod('crasher', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo "boom $(date +%s%N)"; exit 3'] }] }) });
  const feed = new EventsFeed(kc, { kind: 'Pod', namespace: ns.name, name: 'crasher' }, silentLogger);
  t.after(() => feed.dispose());
  let snap: EventsSnapshot | undefined;
  feed.onDidUpdate((s) => (snap = s));
  feed.start();
  // Container statuses are re-read whenever an event arrives; ask again while waiting for the loop.
  const problem = await waitFor(
    'the crash loop explained',
    async () => {
      await feed.refresh();
      return snap?.podProblems.find((p) => p.summary.includes('crash-looping'));
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  assert.match(problem.reasons.join(' '), /exit code 3/);
  assert.match(problem.fixes.join(' '), /previous log/);
  // The previous instance's log exists once the container has been restarted: retry until then.
  const lines = await waitFor(
    'the previous log',
    async () => {
      const previous = new LogFollow(kc, { namespace: ns.name, pod: 'crasher', container: 'app', previous: true }, silentLogger);
      const got: LogLine[] = [];
      let end: LogEnd | undefined;
      previous.onLines((b) => got.push(...b));
      previous.onDidEnd((e) => (end = e));
      try {
        await previous.start();
        const e = await waitFor('the previous log to end', () => end, { timeoutMs: 30_000 });
        return e.why === 'completed' && got.length > 0 ? got : undefined;
      } finally {
        await previous.dispose();
      }
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  assert.equal(lines.length, 1);
  assert.match(lines[0]?.text ?? '', /^boom \d+$/);
});

test('logs follow live, resume nothing twice, and say when the pod is deleted', async (t) => {
  await core.createNamespacedPod({ namespace: ns.name, body: pod('talker', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'i=0; while true; do printf "\\033[32mline\\033[0m %d\\n" $i; i=$((i+1)); sleep 0.2; done'] }] }) });
  await waitForPodReady(kc, ns.name, 'talker');
  const follow = new LogFollow(kc, { namespace: ns.name, pod: 'talker', container: 'app' }, silentLogger);
  t.after(() => follow.dispose());
  const lines: LogLine[] = [];
  let end: LogEnd | undefined;
  follow.onLines((b) => lines.push(...b));
  follow.onDidEnd((e) => (end = e));
  await follow.start();
  await waitFor('five lines', () => lines.length >= 5 || undefined, { timeoutMs: 60_000 });
  const seen = lines.length;
  // Live: lines written after the first ones arrive without asking again.
  await waitFor('more lines', () => lines.length >= seen + 5 || undefined, { timeoutMs: 60_000 });
  assert.equal(follow.status.state, 'running');
  assert.equal(lines[0]?.text, '\x1b[32mline\x1b[0m 0');
  assert.ok(lines.every((l) => l.ts !== undefined && !Number.isNaN(Date.parse(l.ts))));
  // In order, no repeats.
  lines.forEach((l, i) => assert.equal(l.text, `\x1b[32mline\x1b[0m ${i}`));

  const previous = new LogFollow(kc, { namespace: ns.name, pod: 'talker', container: 'app', previous: true }, silentLogger);
  let prevEnd: LogEnd | undefined;
  previous.onDidEnd((e) => (prevEnd = e));
  await previous.start();
  await waitFor('previous to fail', () => prevEnd, { timeoutMs: 30_000 });
  assert.equal(prevEnd?.why, 'failed');
  assert.ok(prevEnd?.why === 'failed' && prevEnd.error.reason === 'not-found' && prevEnd.error.message.includes('has not restarted'), JSON.stringify(prevEnd));
  await previous.dispose();

  const kept = lines.length;
  await core.deleteNamespacedPod({ name: 'talker', namespace: ns.name, gracePeriodSeconds: 0 });
  const ended = await waitFor('the follow to end', () => end, { timeoutMs: 90_000 });
  assert.equal(ended.why, 'gone', JSON.stringify(ended));
  assert.ok(ended.why === 'gone' && ended.error.message.includes('was deleted'));
  assert.ok(lines.length >= kept, 'lines shown before are kept');
});

const server = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain' }); s.end('hi ' + q.url); }).listen(8080, () => console.log('listening'));`;

test('a capture in a pod shows the HTTP request the test sent; a bad filter shows tcpdump\'s error', async (t) => {
  await core.createNamespacedPod({ namespace: ns.name, body: pod('web', { containers: [{ name: 'app', image: 'node', command: ['node', '-e', server], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] }) });
  await waitForPodReady(kc, ns.name, 'web');
  const target = { namespace: ns.name, pod: 'web', container: 'app' };

  await assert.rejects(checkFilter(kc, target, 'any', 'tcp port'), (e: unknown) => {
    assert.ok(e instanceof DevlaneError);
    assert.equal(e.reason, 'capture-filter');
    assert.match(e.message, /tcpdump rejected the filter "tcp port": tcpdump: .+/);
    return true;
  });

  const cap = new CaptureSession(kc, { namespace: ns.name, pod: 'web', containers: ['app'], filter: 'tcp port 8080' }, silentLogger);
  t.after(() => cap.dispose());
  await cap.start();
  assert.equal(cap.status.state, 'running');
  // The capture is live once tcpdump has written its file header.
  await waitFor('the pcap header', async () => ((await cap.downloadPcap()).length >= 24 ? true : undefined), { timeoutMs: 30_000, intervalMs: 300 });
  const curl = await execCollect(kc, target, ['curl', '-s', 'http://127.0.0.1:8080/from-the-test']);
  assert.equal(curl.exitCode, 0, curl.stderr);
  assert.equal(curl.stdout.toString(), 'hi /from-the-test');
  const row = await waitFor('the GET row', () => cap.rows.find((r) => r.summary === 'HTTP: GET /from-the-test HTTP/1.1'), { timeoutMs: 30_000 });
  assert.equal(row.protocol, 'TCP');
  assert.ok(row.destination.endsWith(':8080'));
  await waitFor('the response row', () => cap.rows.some((r) => r.summary === 'HTTP: HTTP/1.1 200 OK') || undefined, { timeoutMs: 30_000 });
  await cap.stop();
  assert.equal(cap.status.state, 'stopped');
  const pcap = readPcap(await cap.downloadPcap());
  const exchanges = httpExchanges(pcap.packets);
  assert.deepEqual(
    exchanges.map((x) => [x.method, x.target, x.status, x.responseBodyBytes]),
    [['GET', '/from-the-test', 200, 'hi /from-the-test'.length]],
  );
});

test('a shell runs a command, resizes, and the audit log holds what was typed', async (t) => {
  await core.createNamespacedPod({ namespace: ns.name, body: pod('shell', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'exec sleep 3600'] }] }) });
  await waitForPodReady(kc, ns.name, 'shell');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-shell-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, '.devlane', 'audit.log');
  const audit = new AuditLog(file);
  const auditTarget = { user: 'tester', context: 'test', namespace: ns.name, pod: 'shell', container: 'app' };
  const shell = new PodShell(kc, { target: { namespace: ns.name, pod: 'shell', container: 'app' }, audit, auditTarget, isClone: false, confirmed: true, columns: 80, rows: 24 }, silentLogger);
  t.after(() => shell.dispose());
  let out = '';
  let exit: { code?: number } | undefined;
  shell.onOutput((s) => (out += s));
  shell.onExit((e) => (exit = e));
  await shell.open();
  shell.input('echo hello-$((40+2))\r');
  await waitFor('the command output', () => out.includes('hello-42') || undefined, { timeoutMs: 30_000 });
  shell.resize(101, 33);
  shell.input('stty size\r');
  await waitFor('the new size', () => out.includes('33 101') || undefined, { timeoutMs: 30_000 });
  shell.input('exit\r');
  await waitFor('the shell to exit', () => exit, { timeoutMs: 30_000 });
  await audit.flush();
  const records = readAuditLog(file);
  assert.deepEqual(
    records.map((r) => (r.event === 'command' ? `command:${r.command}` : r.event)),
    ['open', 'command:echo hello-$((40+2))', 'command:stty size', 'command:exit', 'close'],
  );
  const open = records[0];
  assert.ok(open?.event === 'open' && open.clone === false && open.confirmed === true);
  assert.equal(records[1]?.pod, 'shell');
  assert.equal(records[1]?.namespace, ns.name);
});

test('the events watch survives the server ending it: re-watched from the last version, nothing lost or doubled', async (t) => {
  // The server ends each watch after 1 s; events keep being written across those ends.
  const w = new ResilientWatch(eventSource(kc, ns.name, 'involvedObject.name=watch-probe', 1), { describe: 'probe', log: silentLogger, minDelayMs: 50 });
  t.after(() => w.dispose());
  const seen = new Map<string, number>();
  w.onDidChange((c) => {
    const items = c.type === 'sync' ? c.items : [c.item];
    for (const e of items) if (c.type !== 'delete') seen.set(e.metadata?.name ?? '', (seen.get(e.metadata?.name ?? '') ?? 0) + (c.type === 'upsert' ? 1 : 0));
  });
  w.start();
  await waitFor('the first watch', () => w.state.state === 'watching' || undefined, { timeoutMs: 30_000 });
  const names: string[] = [];
  for (let i = 0; i < 6; i++) {
    const name = `watch-probe.${i}`;
    names.push(name);
    await core.createNamespacedEvent({ namespace: ns.name, body: { metadata: { name }, involvedObject: { kind: 'Pod', name: 'watch-probe', namespace: ns.name }, reason: 'Probe', message: `probe ${i}`, type: 'Normal', firstTimestamp: new Date(), lastTimestamp: new Date(), count: 1 } });
    // Spread the writes over several server-side watch ends.
    const watchesBefore = w.stats.watches;
    await waitFor('a re-watch', () => w.stats.watches > watchesBefore || undefined, { timeoutMs: 30_000, intervalMs: 50 });
  }
  await waitFor('every event', () => names.every((n) => seen.has(n)) || undefined, { timeoutMs: 30_000 });
  assert.ok(w.stats.watches >= 7, `${w.stats.watches} watches`);
  for (const n of names) assert.equal(seen.get(n), 1, `${n} delivered once`);
});

test('RBAC: a user without logs, exec or events rights is told which verb on which resource', async (t) => {
  await core.createNamespacedPod({ namespace: ns.name, body: pod('guarded', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo hi; exec sleep 3600'] }] }) });
  await waitForPodReady(kc, ns.name, 'guarded');
  const limited = await limitedUser(kc, ns.name, 'viewer', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);

  const follow = new LogFollow(limited, { namespace: ns.name, pod: 'guarded', container: 'app' }, silentLogger);
  t.after(() => follow.dispose());
  let end: LogEnd | undefined;
  follow.onDidEnd((e) => (end = e));
  await follow.start();
  const logEnd = await waitFor('the log to fail', () => end, { timeoutMs: 30_000 });
  assert.ok(logEnd.why === 'failed' && logEnd.error.reason === 'rbac-forbidden', JSON.stringify(logEnd));
  assert.match(logEnd.why === 'failed' ? logEnd.error.message : '', /not allowed to get pods\/log of "guarded" in namespace "observe-[0-9a-f]+" \(403\)/);

  await assert.rejects(new CaptureSession(limited, { namespace: ns.name, pod: 'guarded', containers: ['app'] }, silentLogger).start(), (e: unknown) => {
    assert.ok(e instanceof DevlaneError && e.reason === 'rbac-forbidden', String(e));
    assert.match(e.message, /not allowed to create pods\/exec of "guarded"/);
    return true;
  });

  const feed = new EventsFeed(limited, { kind: 'Pod', namespace: ns.name, name: 'guarded' }, silentLogger);
  t.after(() => feed.dispose());
  let snap: EventsSnapshot | undefined;
  feed.onDidUpdate((s) => (snap = s));
  feed.start();
  const failed = await waitFor('the events feed to fail', () => (snap?.state === 'failed' ? snap : undefined), { timeoutMs: 30_000 });
  assert.equal(failed.error?.reason, 'rbac-forbidden');
  assert.match(failed.error?.message ?? '', /not allowed to list and watch events in namespace "observe-[0-9a-f]+" \(403\)\. Ask for a Role granting verb "list and watch" on resource "events"/);
});

test('a capture taken from the pod start by a sidecar (rotated files) is shown the same way', async () => {
  // The same layout a clone's capture option makes: tcpdump in devlane-capture, files in /devlane/capture.
  const tcpdump = 'mkdir -p /devlane/capture && exec tcpdump -i any -U -Z root -w /devlane/capture/capture.pcap -C 10 -W 5 tcp port 8080';
  await core.createNamespacedPod({
    namespace: ns.name,
    body: pod('cloned', {
      volumes: [{ name: 'devlane', emptyDir: {} }],
      containers: [
        { name: 'app', image: 'node', command: ['node', '-e', server], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } },
        { name: 'devlane-capture', image: 'busybox', command: ['sh', '-c', tcpdump], volumeMounts: [{ name: 'devlane', mountPath: '/devlane' }] },
      ],
    }),
  });
  await waitForPodReady(kc, ns.name, 'cloned');
  const loc = { dir: '/devlane/capture', baseName: 'capture.pcap', container: 'devlane-capture' };
  await waitFor('the start capture file', async () => ((await execCollect(kc, { namespace: ns.name, pod: 'cloned', container: 'devlane-capture' }, ['sh', '-c', 'test -s /devlane/capture/capture.pcap0'])).exitCode === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  const curl = await execCollect(kc, { namespace: ns.name, pod: 'cloned', container: 'app' }, ['curl', '-s', 'http://127.0.0.1:8080/since-start']);
  assert.equal(curl.exitCode, 0, curl.stderr);
  const opened = await waitFor(
    'the request in the start capture',
    async () => {
      const r = await openStartCapture(kc, ns.name, 'cloned', loc);
      return r.rows.some((row) => row.summary === 'HTTP: GET /since-start HTTP/1.1') ? r : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  assert.deepEqual(opened.files, ['capture.pcap0']);
  assert.deepEqual(
    httpExchanges(readPcap(opened.pcap).packets).map((x) => [x.method, x.target, x.status]),
    [['GET', '/since-start', 200]],
  );
});
