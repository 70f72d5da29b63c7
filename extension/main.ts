import * as vscode from 'vscode';
import { DevlaneContext } from './context';
import { outputChannelName } from './ids';
import { ClusterTree } from './views/clusterTree';
import { registerClusterCommands } from './commands/clusterCommands';
import { registerTunnels } from './tunnels/register';
import { cloneTreeItems, registerClones } from './clones/commands';
import { registerDevlaneYamlDiagnostics } from './devlaneYaml/diagnostics';
import { registerObserve } from './observe/register';
import { registerDebug } from './debug/register';
import { registerWalkthrough } from './walkthrough';

let ctx: DevlaneContext | undefined;

/** Only wires: every feature registers itself on the one context. Nothing touches the network here. */
export function activate(extension: vscode.ExtensionContext): void {
  const started = performance.now();
  const log = vscode.window.createOutputChannel(outputChannelName, { log: true });
  extension.subscriptions.push(log);
  const c = new DevlaneContext(extension, log);
  ctx = c;
  const tree = new ClusterTree(c);
  registerClusterCommands(c, () => tree.refresh());
  registerTunnels(c);
  registerClones(c);
  c.own(tree.addSection({ id: 'clones', label: 'My Clones', icon: 'copy', children: () => cloneTreeItems(c) }));
  registerDevlaneYamlDiagnostics(c);
  registerObserve(c);
  registerDebug(c);
  registerWalkthrough(c);
  c.setContext('devlane.clusterState', 'loading');
  const loadStart = (globalThis as { __devlaneLoadStart?: number }).__devlaneLoadStart;
  const load = loadStart === undefined ? '' : ` (bundle evaluated in ${(started - loadStart).toFixed(1)} ms before)`;
  log.info(`Devlane ${String(extension.extension.packageJSON.version)} activated in ${(performance.now() - started).toFixed(1)} ms${load}`);
}

/** Ends every session (tunnels, forwards, captures…) before VS Code goes away. */
export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  if (!c) return;
  await c.sessions.endAll();
  c.dispose();
}
