import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';

/**
 * Validates devlane.yaml against schemas/devlane.schema.json as the user types, so the file is
 * checked even without a YAML extension (with Red Hat's YAML extension, its yamlValidation
 * contribution adds completion from the same schema).
 */
export function registerDevlaneYamlDiagnostics(ctx: DevlaneContext): void {
  const diagnostics = ctx.own(vscode.languages.createDiagnosticCollection('devlane.yaml'));
  const check = async (doc: vscode.TextDocument) => {
    if (path.basename(doc.uri.fsPath) !== 'devlane.yaml') return;
    // Loaded on first use so activation does not pay for the YAML parser and validator.
    const { parseDevlaneYaml } = await import('../core/config/devlaneYaml');
    const r = parseDevlaneYaml(doc.getText());
    diagnostics.set(
      doc.uri,
      r.ok ? [] : r.problems.map((p) => Object.assign(new vscode.Diagnostic(new vscode.Range(p.line, p.column, p.endLine, p.endColumn), p.message, vscode.DiagnosticSeverity.Error), { source: 'devlane' })),
    );
  };
  ctx.own(vscode.workspace.onDidOpenTextDocument((d) => void check(d)));
  ctx.own(vscode.workspace.onDidChangeTextDocument((e) => void check(e.document)));
  ctx.own(vscode.workspace.onDidCloseTextDocument((d) => diagnostics.delete(d.uri)));
  for (const d of vscode.workspace.textDocuments) void check(d);
}
