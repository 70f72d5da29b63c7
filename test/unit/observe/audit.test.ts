import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditLog, CommandLineExtractor, auditLogPath, readAuditLog } from '../../../extension/core/observe/audit';

test('typed text with Enter is one command; CR and LF both end a line, CRLF once', () => {
  const x = new CommandLineExtractor();
  assert.deepEqual(x.push('ls -la'), []);
  assert.deepEqual(x.push('\r'), [{ command: 'ls -la', approximate: false }]);
  assert.deepEqual(x.push('echo a\r\necho b\n'), [
    { command: 'echo a', approximate: false },
    { command: 'echo b', approximate: false },
  ]);
  assert.deepEqual(x.push('\r\r  \r'), []);
});

test('backspace, DEL, Ctrl-U, Ctrl-W and Ctrl-C edit or drop the line', () => {
  const x = new CommandLineExtractor();
  assert.deepEqual(x.push('lss\x7f -l\x08a\r'), [{ command: 'ls -a', approximate: false }]);
  assert.deepEqual(x.push('rm -rf /\x15echo safe\r'), [{ command: 'echo safe', approximate: false }]);
  assert.deepEqual(x.push('cat one two\x17three\r'), [{ command: 'cat one three', approximate: false }]);
  assert.deepEqual(x.push('never mind\x03'), []);
  assert.deepEqual(x.push('date\r'), [{ command: 'date', approximate: false }]);
});

test('multi-byte characters are removed whole by backspace', () => {
  const x = new CommandLineExtractor();
  assert.deepEqual(x.push('echo ✓✓\x7f\r'), [{ command: 'echo ✓', approximate: false }]);
});

test('arrow keys, history and Tab mark the line approximate; bracketed paste does not', () => {
  const x = new CommandLineExtractor();
  assert.deepEqual(x.push('\x1b[A\r'), [{ command: '', approximate: true }]);
  assert.deepEqual(x.push('cat fi\tle\r'), [{ command: 'cat file', approximate: true }]);
  assert.deepEqual(x.push('echo x\x1bOD\r'), [{ command: 'echo x', approximate: true }]);
  assert.deepEqual(x.push('\x1b[200~kubectl get pods\x1b[201~\r'), [{ command: 'kubectl get pods', approximate: false }]);
  // The flag does not leak into the next line.
  assert.deepEqual(x.push('pwd\r'), [{ command: 'pwd', approximate: false }]);
});

test('the audit log appends JSON lines in order under .devlane/', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-audit-'));
  try {
    const file = auditLogPath(dir);
    const log = new AuditLog(file, () => new Date('2026-11-22T02:00:00Z'));
    const target = { user: 'dev', context: 'kind', namespace: 'shop', pod: 'orders-1', container: 'app' };
    void log.write(target, { event: 'open', clone: false, confirmed: true, shell: 'bash|sh' });
    void log.write(target, { event: 'command', command: 'ls', approximate: false });
    await log.write(target, { event: 'close', exitCode: 0 });
    const records = readAuditLog(file);
    assert.deepEqual(
      records.map((r) => r.event),
      ['open', 'command', 'close'],
    );
    assert.equal(records[0]?.time, '2026-11-22T02:00:00.000Z');
    assert.equal(records[1]?.event === 'command' && records[1].command, 'ls');
    assert.equal(records[0]?.event === 'open' && records[0].clone, false);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
