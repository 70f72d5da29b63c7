import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAnsi, stripAnsi } from '../../../extension/core/observe/ansi';

test('plain text is one unstyled span', () => {
  assert.deepEqual(parseAnsi('hello'), [{ text: 'hello', style: {} }]);
  assert.deepEqual(parseAnsi(''), []);
});

test('SGR colours, bold and reset become spans', () => {
  const spans = parseAnsi('\x1b[1;31mERROR\x1b[0m done \x1b[92mok\x1b[39m!');
  assert.deepEqual(spans, [
    { text: 'ERROR', style: { bold: true, fg: 1 } },
    { text: ' done ', style: {} },
    { text: 'ok', style: { fg: 10 } },
    { text: '!', style: {} },
  ]);
});

test('256-colour and true-colour forms', () => {
  assert.deepEqual(parseAnsi('\x1b[38;5;208mA\x1b[48;2;1;2;255mB'), [
    { text: 'A', style: { fg: 208 } },
    { text: 'B', style: { fg: 208, bg: '#0102ff' } },
  ]);
});

test('non-SGR escapes and OSC titles are dropped; truncated sequences do not throw', () => {
  assert.equal(stripAnsi('\x1b[2K\x1b]0;title\x07line\x1b[1A'), 'line');
  assert.equal(stripAnsi('cut \x1b[3'), 'cut ');
  assert.deepEqual(parseAnsi('\x1b[mx'), [{ text: 'x', style: {} }]);
});

test('22 clears bold and dim, 39/49 clear colours', () => {
  assert.deepEqual(parseAnsi('\x1b[1;2;33;44ma\x1b[22;39;49mb'), [
    { text: 'a', style: { bold: true, dim: true, fg: 3, bg: 4 } },
    { text: 'b', style: {} },
  ]);
});
