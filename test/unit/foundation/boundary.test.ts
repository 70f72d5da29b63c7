import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const root = path.resolve(__dirname, '..', '..', '..');
const importVscode = "import * as vscode from 'vscode';\nexport const x = vscode.version;\n";

test('only the VS Code layer may import vscode (the lint rule fires everywhere else)', async () => {
  const eslint = new ESLint({ cwd: root });
  const verdict = async (file: string) => {
    const [r] = await eslint.lintText(importVscode, { filePath: path.join(root, file) });
    return (r?.messages ?? []).some((m) => m.ruleId === 'no-restricted-imports');
  };
  for (const f of ['extension/core/kube/x.ts', 'dataplane/x.ts', 'debug-adapter/jdwp/x.ts', 'debug-adapter/dap/x.ts', 'cluster/x.ts', 'webview/logs/x.ts', 'tunnel-agent/x.ts']) {
    assert.equal(await verdict(f), true, `${f} may import vscode`);
  }
  for (const f of ['extension/views/x.ts', 'extension/debug/x.ts']) {
    assert.equal(await verdict(f), false, `${f} should be allowed to import vscode`);
  }
});
