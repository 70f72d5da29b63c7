import * as vscode from 'vscode';
import type { DevlaneContext } from './context';
import { extensionId, walkthroughId } from './ids';

const shownKey = 'devlane.walkthroughShown';

/**
 * *Devlane: Get Started* opens the walkthrough (contributes.walkthroughs); `npm start`'s demo
 * (DEVLANE_DEMO=1) opens it by itself once per profile, so a newcomer lands on its first step.
 */
export function registerWalkthrough(ctx: DevlaneContext): void {
  const open = () => vscode.commands.executeCommand('workbench.action.openWalkthrough', `${extensionId}#${walkthroughId}`, false);
  ctx.registerCommand('devlane.getStarted', open);
  if (process.env.DEVLANE_DEMO !== '1' || ctx.extension.globalState.get<boolean>(shownKey)) return;
  void ctx.extension.globalState.update(shownKey, true);
  void open();
}
