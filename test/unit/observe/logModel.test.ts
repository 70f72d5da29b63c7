import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, LogBuffer, compileFilter, filterIndices, splitTimestamp } from '../../../extension/core/observe/logModel';

test('splits chunks into lines across chunk boundaries, CRLF included', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('a\nb'), [{ text: 'a', cut: 0 }]);
  assert.deepEqual(s.push('c\r\nd'), [{ text: 'bc', cut: 0 }]);
  assert.deepEqual(s.end(), [{ text: 'd', cut: 0 }]);
  assert.deepEqual(s.end(), []);
});

test('multi-byte characters split across chunks decode intact', () => {
  const s = new LineSplitter();
  const bytes = new TextEncoder().encode('héllo ✓\n');
  assert.deepEqual(s.push(bytes.subarray(0, 2)), []);
  assert.deepEqual(s.push(bytes.subarray(2)), [{ text: 'héllo ✓', cut: 0 }]);
});

test('a huge line is cut with a count of what was dropped, without holding it', () => {
  const s = new LineSplitter(100);
  const chunk = 'x'.repeat(1_000);
  for (let i = 0; i < 1_000; i++) assert.deepEqual(s.push(chunk), []);
  const [line] = s.push('\nnext\n');
  assert.equal(line?.text.length, 100);
  assert.equal(line?.cut, 1_000_000 - 100);
  assert.deepEqual(s.end(), []);
});

test('the API server timestamp is taken off the line', () => {
  assert.deepEqual(splitTimestamp('2026-11-22T02:30:01.123456789Z hello world'), { ts: '2026-11-22T02:30:01.123456789Z', text: 'hello world' });
  assert.deepEqual(splitTimestamp('2026-11-22T02:30:01+01:00 x'), { ts: '2026-11-22T02:30:01+01:00', text: 'x' });
  assert.deepEqual(splitTimestamp('no timestamp here at all'), { text: 'no timestamp here at all' });
  assert.deepEqual(splitTimestamp('2026-13-99T99:99:99Z bad'), { text: '2026-13-99T99:99:99Z bad' });
});

test('the buffer keeps the newest lines and stable sequence numbers', () => {
  const b = new LogBuffer(3);
  for (let i = 0; i < 5; i++) b.append(`line ${i}`);
  assert.equal(b.size, 3);
  assert.equal(b.dropped, 2);
  assert.deepEqual([...b].map((l) => [l.seq, l.text]), [
    [2, 'line 2'],
    [3, 'line 3'],
    [4, 'line 4'],
  ]);
  assert.equal(b.at(3), undefined);
});

test('the buffer holds 150,000 lines in a bounded ring', () => {
  const b = new LogBuffer(100_000);
  for (let i = 0; i < 150_000; i++) b.append(`l${i}`);
  assert.equal(b.size, 100_000);
  assert.equal(b.at(0)?.text, 'l50000');
  assert.equal(b.at(99_999)?.text, 'l149999');
});

test('plain search finds every occurrence, case-insensitive unless asked', () => {
  const f = compileFilter({ query: 'err', regex: false, caseSensitive: false });
  assert.ok(f.ok);
  assert.deepEqual(f.match('ERR: an error'), [
    [0, 3],
    [8, 11],
  ]);
  assert.equal(f.match('fine'), undefined);
  const cs = compileFilter({ query: 'err', regex: false, caseSensitive: true });
  assert.ok(cs.ok);
  assert.deepEqual(cs.match('ERR: an error'), [[8, 11]]);
});

test('regex filter reports ranges; empty matches still select the line; invalid regex is data', () => {
  const f = compileFilter({ query: '\\d+ms', regex: true, caseSensitive: false });
  assert.ok(f.ok);
  assert.deepEqual(f.match('took 12ms then 340ms'), [
    [5, 9],
    [15, 20],
  ]);
  const empty = compileFilter({ query: 'z*', regex: true, caseSensitive: false });
  assert.ok(empty.ok);
  assert.deepEqual(empty.match('abc'), []);
  const bad = compileFilter({ query: '(unclosed', regex: true, caseSensitive: false });
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && bad.error.length > 0);
});

test('filters look at the text without ANSI escapes', () => {
  const b = new LogBuffer(10);
  b.append('\x1b[31mER\x1b[0mROR one');
  b.append('info two');
  b.append('ERROR three');
  const f = compileFilter({ query: 'error', regex: false, caseSensitive: false });
  assert.ok(f.ok);
  assert.deepEqual(filterIndices(b, f.match), [0, 2]);
});
