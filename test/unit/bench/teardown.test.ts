import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';

const probe = path.resolve(__dirname, '../../fixtures/bench/teardownProbe.ts');

interface Run {
  readonly lines: string[];
  /** Resolves when the probe has printed this line. */
  printed(line: string): Promise<void>;
  signal(s: NodeJS.Signals): void;
  answer(): void;
  exited: Promise<number | null>;
}

function runProbe(mode: string): Run {
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, probe, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.filter((x) => x.line === line)) w.resolve();
    }
  });
  child.stderr.resume();
  return {
    lines,
    printed: (line) => (lines.includes(line) ? Promise.resolve() : new Promise((resolve) => waiters.push({ line, resolve }))),
    signal: (s) => child.kill(s),
    answer: () => child.stdin.write('go\n'),
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
}

test('a bench that ends undoes what is left, newest first, and a step its own finally ran is not run again', async () => {
  const r = runProbe('done');
  r.answer(); // lets the slow step finish when the end of the bench runs it
  assert.equal(await r.exited, 0);
  assert.deepEqual(r.lines, ['undo second', 'undo slow started', 'undo slow finished', 'undo first']);
});

test('a bench that throws still undoes everything and exits 1', async () => {
  const r = runProbe('throw');
  r.answer();
  assert.equal(await r.exited, 1);
  assert.deepEqual(r.lines, ['undo slow started', 'undo slow finished', 'undo second', 'undo first']);
});

for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  test(`${signal} mid-bench undoes every step, newest first, and exits ${code}`, async () => {
    const r = runProbe('hang');
    await r.printed('ready');
    r.signal(signal);
    await r.printed('undo slow started');
    r.answer();
    assert.equal(await r.exited, code);
    assert.deepEqual(r.lines, ['ready', 'undo slow started', 'undo slow finished', 'undo second', 'undo first']);
  });
}

test('a signal while the bench itself is in an undo step waits for that step before exiting', async () => {
  const r = runProbe('slow');
  await r.printed('undo slow started');
  r.signal('SIGTERM');
  // The other steps run meanwhile; the exit waits for the slow one, which the bench started.
  await r.printed('undo first');
  r.answer();
  assert.equal(await r.exited, 143);
  assert.deepEqual(r.lines, ['undo slow started', 'undo second', 'undo first', 'undo slow finished']);
});

test('after a signal, what main still creates is undone at once and main is told to stop', async () => {
  const r = runProbe('late');
  await r.printed('ready');
  r.signal('SIGTERM');
  await r.printed('undo slow started');
  r.answer(); // ends the slow step and lets main go on to register one more thing
  assert.equal(await r.exited, 143);
  assert.deepEqual(r.lines.slice(0, 2), ['ready', 'undo slow started']);
  assert.deepEqual(new Set(r.lines.slice(2)), new Set(['undo late', 'defer threw: the bench is being stopped (late undone at once)', 'undo slow finished']));
});
