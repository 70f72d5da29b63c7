import * as vscode from 'vscode';
import type { Logger } from './core/log';
import { SessionRegistry } from './core/sessions/registry';
import { toDevlaneError } from './core/errors';
import type { CommandArgs, CommandId, ContextKey, ContextKeys } from './ids';
import { KubeState } from './kube/kubeState';
import { DevlaneConfig } from './config';

/**
 * What every feature module gets: the log, the session registry, the cluster connection and
 * helpers that keep registrations tied to the extension's life. There is one of these, made in
 * activate(); nothing else is global.
 */
export class DevlaneContext implements vscode.Disposable {
  readonly sessions: SessionRegistry;
  readonly kube: KubeState;
  readonly config: DevlaneConfig;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.sessions = new SessionRegistry(asLogger(log));
    this.config = this.own(new DevlaneConfig());
    this.kube = this.own(new KubeState(this.config, asLogger(log)));
  }

  /** The log as the plain-Node Logger interface core code takes. */
  get logger(): Logger {
    return asLogger(this.log);
  }

  own<T extends vscode.Disposable>(d: T): T {
    this.disposables.push(d);
    return d;
  }

  registerCommand<K extends CommandId>(id: K, handler: (...args: CommandArgs[K]) => unknown): void {
    this.own(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await handler(...(args as CommandArgs[K]));
        } catch (e) {
          void this.showError(e);
          return undefined;
        }
      }),
    );
  }

  setContext<K extends ContextKey>(key: K, value: ContextKeys[K]): void {
    void vscode.commands.executeCommand('setContext', key, value);
  }

  /** Shows an error with its actions; the chosen action runs its command. */
  async showError(e: unknown): Promise<void> {
    const err = toDevlaneError(e);
    this.log.error(`${err.reason}: ${err.message}${err.detail ? `\n${err.detail}` : ''}`);
    if (err.reason === 'cancelled') return;
    const actions = [...err.actions, { title: 'Show Log', command: 'devlane.showLog' }];
    const picked = await vscode.window.showErrorMessage(err.message, ...actions.map((a) => a.title));
    const action = actions.find((a) => a.title === picked);
    if (action) await vscode.commands.executeCommand(action.command, ...(('args' in action && action.args) || []));
  }

  dispose(): void {
    // Sessions first: they may still need the cluster connection to clean up.
    void this.sessions.endAll().finally(() => {
      for (const d of this.disposables.splice(0).reverse()) d.dispose();
    });
  }
}

function asLogger(log: vscode.LogOutputChannel): Logger {
  return {
    trace: (m, ...a) => log.trace(m, ...a),
    debug: (m, ...a) => log.debug(m, ...a),
    info: (m, ...a) => log.info(m, ...a),
    warn: (m, ...a) => log.warn(m, ...a),
    error: (m, ...a) => log.error(m, ...a),
  };
}
