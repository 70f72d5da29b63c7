import * as vscode from 'vscode';

/**
 * A view whose content is only its welcome text for now (declared in package.json viewsWelcome).
 * Registering an empty provider is what makes VS Code show that text instead of "no data provider".
 */
export function registerEmptyView(viewId: string): vscode.Disposable {
  return vscode.window.registerTreeDataProvider<never>(viewId, { getTreeItem: (n) => n, getChildren: () => [] });
}
