/**
 * The tcpdump line parser and the pcap/HTTP reader against real Debian tcpdump output: HTTP and UDP
 * traffic this test sends inside a network namespace of its own, captured on `any` (Linux cooked v2)
 * and on `lo` (Ethernet framing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTcpdumpLine, type PacketRow } from '../../../extension/core/observe/tcpdumpLine';
import { readPcap, reassembleTcp } from '../../../extension/core/observe/pcap';
import { httpExchanges } from '../../../extension/core/observe/http';
import { waitFor } from '../../support/wait';

const server = `
const http = require('node:http');
http.createServer((req, res) => {
  let body = 0;
  req.on('data', (c) => (body += c.length));
  req.on('end', () => {
    if (req.url === '/hello') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('hello there'); }
    else if (req.url === '/echo') { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"got":'); res.end(String(body) + '}'); }
    else { res.writeHead(404); res.end(); }
  });
}).listen(8080, '127.0.0.1', () => console.log('ready'));
`;

test('real tcpdump text and pcap: columns, TCP reassembly and HTTP exchanges', async (t) => {
  const ns = `dlobs-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-tcpdump-'));
  const procs: ChildProcess[] = [];
  const run = (args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  };
  t.after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  run(['netns', 'add', ns]);
  run(['-n', ns, 'link', 'set', 'lo', 'up']);

  const anyPcap = path.join(dir, 'any.pcap');
  const loPcap = path.join(dir, 'lo.pcap');
  let anyText = '';
  const dump = (iface: string, file: string, onText?: (s: string) => void) => {
    const p = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-l', '-nn', '-tttt', '-U', '--print', '-i', iface, '-w', file, 'tcp port 8080 or udp port 9999'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(p);
    p.stdout.setEncoding('utf8').on('data', (s: string) => onText?.(s));
    p.stderr.resume();
    return p;
  };
  const tdAny = dump('any', anyPcap, (s) => (anyText += s));
  const tdLo = dump('lo', loPcap);
  // tcpdump writes the pcap header once the capture is open: only then is traffic seen.
  await waitFor('both captures open', () => fs.existsSync(anyPcap) && fs.statSync(anyPcap).size >= 24 && fs.existsSync(loPcap) && fs.statSync(loPcap).size >= 24, { timeoutMs: 30_000 });

  const srv = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(srv);
  let srvOut = '';
  srv.stdout.setEncoding('utf8').on('data', (s: string) => (srvOut += s));
  await waitFor('server ready', () => srvOut.includes('ready'), { timeoutMs: 30_000 });

  const client = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '-o', '/dev/null', '-o', '/dev/null', 'http://127.0.0.1:8080/hello', 'http://127.0.0.1:8080/missing'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(client.status, 0, client.stderr);
  const post = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '-o', '/dev/null', '-H', 'Transfer-Encoding: chunked', '--data-binary', 'x'.repeat(3000), 'http://127.0.0.1:8080/echo'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(post.status, 0, post.stderr);
  const udp = spawnSync('ip', ['netns', 'exec', ns, 'socat', '-u', '-', 'UDP:127.0.0.1:9999'], { input: 'ping!\n', timeout: 30_000 });
  assert.equal(udp.status, 0);

  const rowsNow = () => anyText.split('\n').filter((l) => l !== '').map(parseTcpdumpLine);
  await waitFor('the UDP datagram in the text output', () => rowsNow().some((r) => r.protocol === 'UDP'), { timeoutMs: 30_000 });
  const ended = (p: ChildProcess) => new Promise<void>((resolve) => (p.exitCode !== null ? resolve() : p.once('exit', () => resolve())));
  tdAny.kill('SIGINT');
  tdLo.kill('SIGINT');
  await Promise.all([ended(tdAny), ended(tdLo)]);

  const rows: PacketRow[] = rowsNow();
  // Every line parsed into columns: nothing fell back to a bare summary.
  for (const r of rows) {
    assert.match(r.time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/, r.raw);
    assert.equal(r.iface, 'lo', r.raw);
    assert.equal(r.direction, 'In', r.raw);
    assert.ok(r.source.startsWith('127.0.0.1:'), r.raw);
    assert.ok(r.destination.startsWith('127.0.0.1:'), r.raw);
    assert.ok(r.protocol === 'TCP' || r.protocol === 'UDP', r.raw);
    assert.equal(typeof r.length, 'number', r.raw);
  }
  const syn = rows.find((r) => r.flags === 'S');
  assert.ok(syn, 'a SYN row');
  assert.equal(syn.destination, '127.0.0.1:8080');
  assert.equal(syn.length, 0);
  assert.ok(rows.some((r) => r.flags === 'S.'));
  assert.ok(rows.some((r) => r.flags === 'F.'));
  const get = rows.find((r) => r.summary === 'HTTP: GET /hello HTTP/1.1');
  assert.ok(get, `a row summarising the GET, got ${rows.map((r) => r.summary).join(' | ')}`);
  assert.equal(get.flags, 'P.');
  assert.ok((get.length ?? 0) > 0);
  const dgram = rows.find((r) => r.protocol === 'UDP');
  assert.equal(dgram?.destination, '127.0.0.1:9999');
  assert.equal(dgram?.length, 6);

  for (const [file, linkType] of [
    [anyPcap, 276],
    [loPcap, 1],
  ] as const) {
    const pcap = readPcap(fs.readFileSync(file));
    assert.equal(pcap.linkType, linkType);
    assert.equal(pcap.truncated, false);
    assert.ok(pcap.packets.length >= rows.length - 2, `${file}: ${pcap.packets.length} packets`);
    const convs = reassembleTcp(pcap.packets);
    assert.equal(convs.length, 2, `${file}: two TCP connections`);
    assert.ok(convs.every((c) => c.server === '127.0.0.1:8080'));
    const exchanges = httpExchanges(pcap.packets);
    assert.deepEqual(
      exchanges.map((e) => [e.method, e.target, e.status, e.responseBodyBytes]),
      [
        ['GET', '/hello', 200, 'hello there'.length],
        ['GET', '/missing', 404, 0],
        ['POST', '/echo', 200, '{"got":3000}'.length],
      ],
      file,
    );
    const echo = exchanges[2]!;
    assert.equal(echo.requestBodyBytes, 3000);
    assert.equal(echo.host, '127.0.0.1:8080');
    assert.equal(echo.contentType, 'application/json');
    assert.ok(echo.latencyMs !== undefined && echo.latencyMs >= 0);
  }
});
