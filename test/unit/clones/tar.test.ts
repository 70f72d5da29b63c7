import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tarLength, tarStream, type TarEntry } from '../../../extension/core/clones/deploy/tar';

async function collect(entries: TarEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of tarStream(entries, 1000)) parts.push(c);
  return Buffer.concat(parts);
}

test('GNU tar extracts what the writer wrote, byte for byte, with the announced length', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-tar-'));
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    const big = Buffer.alloc(123_457);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    fs.writeFileSync(path.join(src, 'big.bin'), big);
    fs.writeFileSync(path.join(src, 'run.sh'), '#!/bin/sh\necho hi\n');
    fs.chmodSync(path.join(src, 'run.sh'), 0o755);
    const longName = `files/${'d'.repeat(60)}/${'e'.repeat(60)}/Über-${'f'.repeat(40)}.class`;
    const st = (f: string) => fs.statSync(path.join(src, f));
    const entries: TarEntry[] = [
      { kind: 'file', path: 'files/big.bin', source: path.join(src, 'big.bin'), size: st('big.bin').size, mode: 0o644, mtimeMs: st('big.bin').mtimeMs },
      { kind: 'file', path: 'files/run.sh', source: path.join(src, 'run.sh'), size: st('run.sh').size, mode: 0o755, mtimeMs: st('run.sh').mtimeMs },
      { kind: 'data', path: longName, data: Buffer.from('long') },
      { kind: 'data', path: 'meta/empty', data: Buffer.alloc(0) },
    ];
    const archive = await collect(entries);
    assert.equal(archive.length, tarLength(entries));
    assert.equal(archive.length % 512, 0);
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    execFileSync('tar', ['-x', '-f', '-', '-C', out], { input: archive });
    assert.deepEqual(fs.readFileSync(path.join(out, 'files/big.bin')), big);
    assert.equal(fs.readFileSync(path.join(out, 'files/run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(fs.statSync(path.join(out, 'files/run.sh')).mode & 0o111, 0o111);
    assert.equal(fs.readFileSync(path.join(out, longName), 'utf8'), 'long');
    assert.equal(fs.statSync(path.join(out, 'meta/empty')).size, 0);
    const listed = execFileSync('tar', ['-t', '-f', '-'], { input: archive }).toString().trim().split('\n');
    assert.deepEqual(listed, ['files/big.bin', 'files/run.sh', longName, 'meta/empty']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that changes size while being sent fails the stream', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-tar-'));
  try {
    const f = path.join(dir, 'a.jar');
    fs.writeFileSync(f, 'short');
    await assert.rejects(collect([{ kind: 'file', path: 'files/a.jar', source: f, size: 10, mode: 0o644, mtimeMs: 0 }]), /shrank/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
