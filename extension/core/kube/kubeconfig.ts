import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';

/** Command IDs the errors below offer as actions; the VS Code layer registers them. */
export const kubeconfigActions = {
  chooseKubeconfig: 'devlane.chooseKubeconfig',
  chooseContext: 'devlane.chooseContext',
  startDemoCluster: 'devlane.startDemoCluster',
  showLog: 'devlane.showLog',
} as const;

const fixActions = [
  { title: 'Choose Kubeconfig…', command: kubeconfigActions.chooseKubeconfig },
  { title: 'Start Demo Cluster', command: kubeconfigActions.startDemoCluster },
];

export interface KubeconfigSource {
  /** Explicit path (setting or devlane.yaml); otherwise $KUBECONFIG, then ~/.kube/config. */
  readonly path?: string;
  readonly context?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface LoadedKubeconfig {
  readonly kc: KubeConfig;
  /** The files it came from, for watching and for messages. */
  readonly files: readonly string[];
  readonly context: string;
  readonly namespace: string;
  readonly server: string;
}

/** Where a kubeconfig would be read from, without reading it. */
export function kubeconfigFiles(source: KubeconfigSource = {}): string[] {
  if (source.path) return [expandHome(source.path)];
  const env = source.env ?? process.env;
  if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).filter(Boolean).map(expandHome);
  return [path.join(os.homedir(), '.kube', 'config')];
}

/**
 * Loads and checks a kubeconfig without touching the network. Every way it can be unusable
 * becomes a DevlaneError whose message says what is wrong and which fix the UI offers.
 */
export function loadKubeconfig(source: KubeconfigSource = {}): LoadedKubeconfig {
  const files = kubeconfigFiles(source);
  const existing = files.filter((f) => fs.existsSync(f));
  if (existing.length === 0) {
    throw new DevlaneError('kubeconfig-missing', `No kubeconfig found (looked at ${files.join(', ')}). Choose a kubeconfig file or start the demo cluster.`, { actions: fixActions });
  }
  const kc = new KubeConfig();
  for (const f of existing) {
    const text = fs.readFileSync(f, 'utf8');
    if (text.trim() === '') {
      throw new DevlaneError('kubeconfig-empty', `The kubeconfig ${f} is empty. Choose another kubeconfig file or start the demo cluster.`, { actions: fixActions });
    }
    const part = new KubeConfig();
    try {
      part.loadFromString(text);
    } catch (e) {
      throw new DevlaneError('kubeconfig-invalid', `The kubeconfig ${f} cannot be read: ${e instanceof Error ? e.message : String(e)}. Fix the file or choose another one.`, { actions: fixActions, cause: e });
    }
    mergeInto(kc, part);
  }
  if (kc.getContexts().length === 0) {
    throw new DevlaneError('kubeconfig-invalid', `The kubeconfig ${existing.join(', ')} defines no context. Add one (kubectl config set-context) or choose another file.`, { actions: fixActions });
  }
  const wanted = source.context ?? kc.getCurrentContext();
  const ctx = kc.getContextObject(wanted);
  if (!wanted || !ctx) {
    throw new DevlaneError('context-missing', wanted ? `The context "${wanted}" is not in ${existing.join(', ')}. Choose one of: ${kc.getContexts().map((c) => c.name).join(', ')}.` : `The kubeconfig ${existing.join(', ')} has no current context. Choose a context.`, {
      actions: [{ title: 'Choose Context…', command: kubeconfigActions.chooseContext }, ...fixActions],
    });
  }
  kc.setCurrentContext(ctx.name);
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster || !cluster.server) {
    throw new DevlaneError('kubeconfig-invalid', `The context "${ctx.name}" names cluster "${ctx.cluster}", which has no server address in ${existing.join(', ')}.`, { actions: fixActions });
  }
  return { kc, files: existing, context: ctx.name, namespace: ctx.namespace ?? 'default', server: cluster.server };
}

/**
 * The same kubeconfig files with another context: a configuration naming its own context uses the
 * cluster connection's files, never a second look-up that could find other ones.
 */
export function withContext(loaded: LoadedKubeconfig, context: string): LoadedKubeconfig {
  if (context === loaded.context) return loaded;
  return loadKubeconfig({ env: { KUBECONFIG: loaded.files.join(path.delimiter) }, context });
}

function mergeInto(target: KubeConfig, part: KubeConfig): void {
  // The first file to define a name wins, as kubectl merges KUBECONFIG lists.
  const has = <T extends { name: string }>(list: readonly T[], name: string) => list.some((x) => x.name === name);
  for (const c of part.clusters) if (!has(target.clusters, c.name)) target.addCluster(c);
  for (const u of part.users) if (!has(target.users, u.name)) target.addUser(u);
  for (const c of part.contexts) if (!has(target.contexts, c.name)) target.addContext(c);
  if (!target.getCurrentContext() && part.getCurrentContext()) target.setCurrentContext(part.getCurrentContext());
}

function expandHome(p: string): string {
  return p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p;
}
