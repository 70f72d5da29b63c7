/** The cluster connection for a target: the current kubeconfig, switched to the target's context. */
import { KubeConfig } from '@kubernetes/client-node';
import type { DevlaneContext } from '../context';
import type { PanelTarget } from '../../webview/protocol/messages';

export interface TargetKube {
  readonly kc: KubeConfig;
  readonly context: string;
  readonly server: string;
  readonly kubeUser?: string;
}

export async function kubeFor(ctx: DevlaneContext, target: PanelTarget): Promise<TargetKube> {
  const loaded = await ctx.kube.require();
  let kc = loaded.kc;
  if (target.context && target.context !== loaded.context && kc.getContextObject(target.context)) {
    // A copy: switching the shared config's current context would move every other feature too.
    kc = new KubeConfig();
    kc.loadFromString(loaded.kc.exportConfig());
    kc.setCurrentContext(target.context);
  }
  const user = kc.getCurrentUser()?.name;
  return { kc, context: kc.getCurrentContext(), server: kc.getCurrentCluster()?.server ?? loaded.server, ...(user ? { kubeUser: user } : {}) };
}
