import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { manifestOf, planDeploy, readArtifact, type Manifest } from '../../../extension/core/clones/deploy/artifact';
import { deployScript, parseOutcome, stateScript, type DeployOutcome } from '../../../extension/core/clones/deploy/remote';
import { tarLength, tarStream, type TarEntry } from '../../../extension/core/clones/deploy/tar';
import { supervisorName, supervisorScript } from '../../../extension/core/clones/spec/supervisor';
import { waitFor } from '../../support/wait';

/*
 * The in-clone half of deploy, run for real with the host's sh, head and tar next to the real
 * keep-alive supervisor (DEVLANE_DIR points both at a temp folder instead of /devlane). Stdin is
 * kept open throughout, as on a cluster whose exec never closes it.
 */

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function get(port: number, file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/${file}` }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
}

interface Remote {
  run(args: string[], entries: TarEntry[], cutAfter?: number): Promise<DeployOutcome | undefined>;
}

function remote(dir: string, children: ChildProcess[]): Remote {
  return {
    async run(args, entries, cutAfter) {
      const length = tarLength(entries);
      const p = spawn('/bin/sh', ['-c', deployScript, 'devlane-deploy', String(length), ...args], { env: { ...process.env, DEVLANE_DIR: dir }, stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(p);
      let out = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((resolve) => p.on('exit', () => resolve()));
      let sent = 0;
      for await (const chunk of tarStream(entries)) {
        const part = cutAfter !== undefined ? chunk.subarray(0, Math.max(0, cutAfter - sent)) : chunk;
        if (part.length > 0 && !p.stdin!.write(part)) await new Promise((r) => p.stdin!.once('drain', r));
        sent += part.length;
        if (cutAfter !== undefined && sent >= cutAfter) break;
      }
      // Stdin stays open, like an exec stream: the script must stop reading by itself.
      await exited;
      p.stdin!.destroy();
      return parseOutcome(out);
    },
  };
}

async function entriesFor(src: string, remoteManifest: Manifest | undefined) {
  const art = readArtifact(src);
  const manifest = await manifestOf(art.files);
  const plan = planDeploy(manifest, remoteManifest);
  const byRel = new Map(art.files.map((f) => [f.rel, f]));
  const entries: TarEntry[] = plan.changed.map((rel) => {
    const f = byRel.get(rel)!;
    return { kind: 'file', path: `files/${rel}`, source: f.abs, size: f.size, mode: 0o644, mtimeMs: f.mtimeMs };
  });
  if (!plan.full && plan.changed.length) entries.push({ kind: 'data', path: 'meta/changed', data: Buffer.from(plan.changed.join('\n') + '\n') });
  if (plan.deleted.length) entries.push({ kind: 'data', path: 'meta/deleted', data: Buffer.from(plan.deleted.join('\n') + '\n') });
  entries.push({ kind: 'data', path: 'meta/manifest', data: Buffer.from(JSON.stringify(manifest)) });
  return { entries, manifest, plan };
}

test('deploy protocol: full, incremental, interrupted and stale-base deploys against the real supervisor', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-deploy-'));
  const children: ChildProcess[] = [];
  let supervisor: ChildProcess | undefined;
  try {
    const dir = path.join(tmp, 'devlane');
    const target = path.join(tmp, 'app', 'site');
    const src = path.join(tmp, 'local');
    fs.mkdirSync(path.join(src, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(src, 'index.txt'), 'v1');
    fs.writeFileSync(path.join(src, 'lib', 'other.txt'), 'other');
    fs.writeFileSync(path.join(src, 'gone.txt'), 'gone');
    const port = await freePort();
    const server = `const http=require('http'),fs=require('fs');http.createServer((q,r)=>{try{r.end(fs.readFileSync(${JSON.stringify(target)}+q.url))}catch{r.statusCode=404;r.end('missing')}}).listen(${port},'127.0.0.1')`;
    // As the kubelet runs it, after undoing the spec's $-escaping.
    const cmd = ['/bin/sh', '-c', supervisorScript, supervisorName, process.execPath, '-e', server];
    supervisor = spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, DEVLANE_DIR: dir }, stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor('the first app run', () => fs.existsSync(path.join(dir, 'app.run')), { timeoutMs: 30_000 });
    const r = remote(dir, children);

    // 1. Full deploy: everything travels; the supervisor links the version at the target and restarts.
    const first = await entriesFor(src, undefined);
    assert.equal(first.plan.full, true);
    const o1 = await r.run(['v1', '-', '.', target, String(port), '60', '60'], first.entries);
    assert.equal(o1?.ok, true, JSON.stringify(o1));
    const v1 = (o1 as { version: string }).version;
    assert.equal(await get(port, 'index.txt'), 'v1');
    assert.equal(await get(port, 'lib/other.txt'), 'other');

    // The state script tells a cold client what is deployed.
    const state = await new Promise<string>((resolve) => {
      const p = spawn('/bin/sh', ['-c', stateScript], { env: { ...process.env, DEVLANE_DIR: dir } });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', () => resolve(out));
    });
    const parsed = JSON.parse(state) as { version: string; manifest: Manifest };
    assert.equal(parsed.version, v1);
    assert.deepEqual(parsed.manifest, first.manifest);

    // 2. Incremental: one changed file travels, a removed one is deleted, the rest is kept.
    fs.writeFileSync(path.join(src, 'index.txt'), 'v2');
    fs.rmSync(path.join(src, 'gone.txt'));
    const second = await entriesFor(src, parsed.manifest);
    assert.deepEqual(second.plan, { changed: ['index.txt'], deleted: ['gone.txt'], full: false });
    const o2 = await r.run(['v2', v1, '.', target, String(port), '60', '60'], second.entries);
    assert.equal(o2?.ok, true, JSON.stringify(o2));
    assert.equal(await get(port, 'index.txt'), 'v2');
    assert.equal(await get(port, 'lib/other.txt'), 'other');
    assert.equal(await get(port, 'gone.txt'), 'missing');
    // The new version shares unchanged files with the old one (hard links) but not changed ones.
    assert.equal(fs.readFileSync(path.join(dir, 'deploy', v1, 'index.txt'), 'utf8'), 'v1');
    assert.equal(fs.statSync(path.join(dir, 'deploy', v1, 'lib', 'other.txt')).ino, fs.statSync(path.join(dir, 'deploy', 'v2', 'lib', 'other.txt')).ino);
    const runBefore = fs.readFileSync(path.join(dir, 'app.run'), 'utf8');

    // 3. Interrupted upload: half the bytes, then nothing (stdin open). The previous version keeps running.
    fs.writeFileSync(path.join(src, 'index.txt'), 'v3'.repeat(50_000));
    const third = await entriesFor(src, second.manifest);
    const o3 = await r.run(['v3', 'v2', '.', target, String(port), '60', '2'], third.entries, Math.floor(tarLength(third.entries) / 2));
    assert.deepEqual(o3, { ok: false, error: 'upload' });
    assert.equal(await get(port, 'index.txt'), 'v2');
    assert.equal(fs.readFileSync(path.join(dir, 'app.run'), 'utf8'), runBefore);
    assert.ok(!fs.readdirSync(path.join(dir, 'deploy')).some((f) => f.startsWith('.stage-')));

    // 4. An increment against a version the clone no longer has is refused, untouched.
    const o4 = await r.run(['v4', 'v1', '.', target, String(port), '60', '60'], third.entries);
    assert.deepEqual(o4, { ok: false, error: 'base', current: 'v2' });
    assert.equal(await get(port, 'index.txt'), 'v2');
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (supervisor && supervisor.exitCode === null) {
      const gone = new Promise((r) => supervisor!.once('exit', r));
      supervisor.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
