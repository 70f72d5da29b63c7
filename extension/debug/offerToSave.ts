import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { readCloneOptionsFile, saveCloneOptionsFile } from '../core/clones/config';
import { resolveOptions } from '../core/clones/spec/options';
import { launchConfigurationFor } from './targetPicks';

export interface ChosenWorkload {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly container?: string;
  readonly context?: string;
}

/**
 * After F5 asked which workload to debug: keep the answer in launch.json (with the build task) or
 * in devlane.yaml, so the next F5 asks nothing. A workload devlane.yaml already has is only offered
 * for launch.json.
 */
export async function offerToSave(
  ctx: DevlaneContext,
  root: vscode.WorkspaceFolder | undefined,
  picked: ChosenWorkload,
  opts: { readonly preLaunchTask?: string; readonly inDevlaneYaml: boolean },
): Promise<void> {
  if (!root) return;
  const inLaunch = 'Save in launch.json';
  const inYaml = 'Save in devlane.yaml';
  const answer = await vscode.window.showInformationMessage(`Keep ${picked.kind} ${picked.namespace}/${picked.name} as the workload F5 debugs?`, inLaunch, ...(opts.inDevlaneYaml ? [] : [inYaml]));
  try {
    if (answer === inLaunch) {
      const launch = vscode.workspace.getConfiguration('launch', root.uri);
      const existing = launch.get<unknown[]>('configurations') ?? [];
      await launch.update('configurations', [...existing, launchConfigurationFor(picked, opts.preLaunchTask)], vscode.ConfigurationTarget.WorkspaceFolder);
      ctx.log.info(`saved a launch configuration for ${picked.kind} ${picked.namespace}/${picked.name} in launch.json`);
    } else if (answer === inYaml) {
      const file = path.join(root.uri.fsPath, 'devlane.yaml');
      const key = { namespace: picked.namespace, kind: picked.kind, name: picked.name };
      const options = await readCloneOptionsFile(file, key);
      await saveCloneOptionsFile(file, key, picked.container ? resolveOptions({ ...options, container: picked.container }) : options);
      ctx.log.info(`saved ${picked.kind} ${picked.namespace}/${picked.name} under "clones" in ${file}`);
    }
  } catch (e) {
    void ctx.showError(e);
  }
}
