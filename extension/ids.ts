/**
 * Every identifier Devlane contributes, declared once with its argument types. package.json's
 * `contributes` is checked against this module by test/unit/contributions.test.ts, so a command or
 * setting cannot exist in one place only.
 */

export const extensionId = 'devlane.devlane';
export const category = 'Devlane';

/** Command ID → the arguments it is called with (from the palette: none). */
export interface CommandArgs {
  'devlane.showLog': [];
  'devlane.getStarted': [];
  'devlane.refresh': [];
  'devlane.chooseKubeconfig': [];
  'devlane.chooseContext': [];
  'devlane.startDemoCluster': [];
  'devlane.tunnel.toggle': [];
  'devlane.tunnel.connect': [];
  'devlane.tunnel.disconnect': [];
  'devlane.tunnel.connectAgent': [];
  'devlane.tunnel.addReverseForward': [];
  'devlane.tunnel.exposeService': [];
  'devlane.tunnel.registerService': [];
  'devlane.tunnel.deregisterService': [registration?: unknown];
  'devlane.tunnel.showLog': [];
  'devlane.tunnel.openTerminal': [];
  'devlane.clone.create': [target?: unknown];
  'devlane.clone.deploy': [clone?: unknown];
  'devlane.clone.delete': [clone?: unknown];
  'devlane.clone.extend': [clone?: unknown];
  'devlane.clone.restartApp': [clone?: unknown];
  'devlane.clone.createFromYaml': [];
  'devlane.clone.sendRequest': [clone?: unknown];
  'devlane.pod.events': [pod?: unknown];
  'devlane.pod.logs': [pod?: unknown];
  'devlane.pod.capture': [pod?: unknown];
  'devlane.pod.shell': [pod?: unknown];
  'devlane.debug.hotReplace': [];
}
export type CommandId = keyof CommandArgs;

/** Title and whether the command is offered in the command palette. */
export const commands: { readonly [K in CommandId]: { readonly title: string; readonly palette: boolean; readonly icon?: string } } = {
  'devlane.showLog': { title: 'Show Log', palette: true },
  'devlane.getStarted': { title: 'Get Started', palette: true },
  'devlane.refresh': { title: 'Refresh', palette: true, icon: '$(refresh)' },
  'devlane.chooseKubeconfig': { title: 'Choose Kubeconfig…', palette: true },
  'devlane.chooseContext': { title: 'Choose Context…', palette: true },
  'devlane.startDemoCluster': { title: 'Start Demo Cluster', palette: true },
  'devlane.tunnel.toggle': { title: 'Toggle Tunnel', palette: true },
  'devlane.tunnel.connect': { title: 'Connect Tunnel', palette: true, icon: '$(plug)' },
  'devlane.tunnel.disconnect': { title: 'Disconnect Tunnel', palette: true, icon: '$(debug-disconnect)' },
  'devlane.tunnel.connectAgent': { title: 'Connect Tunnel through the In-Cluster Agent', palette: true, icon: '$(cloud)' },
  'devlane.tunnel.addReverseForward': { title: 'Add Reverse Forward…', palette: true, icon: '$(add)' },
  'devlane.tunnel.exposeService': { title: 'Expose Local Port as Service…', palette: true, icon: '$(cloud)' },
  'devlane.tunnel.registerService': { title: 'Register Local Service…', palette: true, icon: '$(broadcast)' },
  'devlane.tunnel.deregisterService': { title: 'Deregister Local Service…', palette: true, icon: '$(close)' },
  'devlane.tunnel.showLog': { title: 'Show Tunnel Log', palette: true },
  'devlane.tunnel.openTerminal': { title: 'Open Terminal with Tunnel', palette: true, icon: '$(terminal)' },
  'devlane.clone.create': { title: 'Clone Pod…', palette: true, icon: '$(copy)' },
  'devlane.clone.deploy': { title: 'Deploy to Clone', palette: true, icon: '$(cloud-upload)' },
  'devlane.clone.delete': { title: 'Delete Clone', palette: true, icon: '$(trash)' },
  'devlane.clone.extend': { title: 'Extend Clone Expiry', palette: true },
  'devlane.clone.restartApp': { title: 'Restart App in Clone', palette: true, icon: '$(debug-restart)' },
  'devlane.clone.createFromYaml': { title: 'Create Clones from devlane.yaml', palette: true },
  'devlane.clone.sendRequest': { title: 'Send Request to Clone…', palette: true, icon: '$(send)' },
  'devlane.pod.events': { title: 'Show Pod Events', palette: true },
  'devlane.pod.logs': { title: 'Show Pod Logs', palette: true },
  'devlane.pod.capture': { title: 'Capture Packets…', palette: true },
  'devlane.pod.shell': { title: 'Open Shell in Pod', palette: true },
  'devlane.debug.hotReplace': { title: 'Hot Replace Classes', palette: true, icon: '$(flame)' },
};

export const viewContainer = 'devlane';
export const views = {
  cluster: 'devlane.clusterView',
  tunnels: 'devlane.tunnelsView',
} as const;
export type ViewId = (typeof views)[keyof typeof views];

/** Settings under `devlane.*` with their value types. */
export interface Settings {
  'devlane.kubeconfig': string;
  'devlane.context': string;
  'devlane.clone.ttlMinutes': number;
  'devlane.clone.redeployOn': 'manual' | 'save' | 'task';
  'devlane.tunnel.destination': string;
  'devlane.tunnel.socksPort': number;
  'devlane.tunnel.httpPort': number;
  'devlane.tunnel.keepaliveIntervalSeconds': number;
  'devlane.tunnel.keepaliveCountMax': number;
  'devlane.tunnel.proxyAuth': boolean;
  'devlane.tunnel.alertAfterSeconds': number;
  'devlane.tunnel.clusterDomains': string[];
}
export type SettingId = keyof Settings;

/** Context keys used in `when` clauses, with their value types. */
export interface ContextKeys {
  /** none: no usable kubeconfig; error: cluster unreachable/unauthorized; connected. */
  'devlane.clusterState': 'none' | 'error' | 'connected' | 'loading';
  'devlane.tunnelState': 'off' | 'connecting' | 'on' | 'degraded' | 'error';
  /** Why the cluster cannot be used, choosing the cluster view's welcome text. */
  'devlane.clusterProblem': 'none' | 'kubeconfig-missing' | 'kubeconfig-empty' | 'kubeconfig-invalid' | 'context-missing' | 'cluster-unreachable' | 'cluster-unauthorized' | 'other';
}
export type ContextKey = keyof ContextKeys;

export const debugType = 'devlane';
/** The Get Started walkthrough (contributes.walkthroughs[0].id). */
export const walkthroughId = 'firstSteps';
export const outputChannelName = 'Devlane';
