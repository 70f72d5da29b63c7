import { VersionApi, type KubeConfig } from '@kubernetes/client-node';
import { DevlaneError } from '../errors';
import { kubeconfigActions } from './kubeconfig';

export interface ClusterInfo {
  readonly gitVersion: string;
}

/**
 * Asks the API server for its version, bounded in time, and turns every way that fails into a
 * DevlaneError the views can show. Used to tell "no cluster" from "cluster up" before any work.
 */
export async function probeCluster(kc: KubeConfig, timeoutMs = 5_000): Promise<ClusterInfo> {
  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  const api = kc.makeApiClient(VersionApi);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DevlaneError('cluster-unreachable', `The cluster at ${server} did not answer within ${timeoutMs / 1000} s. Check the network/VPN, or choose another context.`, { actions: actions() })), timeoutMs);
  });
  try {
    const v = await Promise.race([api.getCode(), timeout]);
    return { gitVersion: v.gitVersion };
  } catch (e) {
    throw classify(e, server);
  } finally {
    clearTimeout(timer);
  }
}

function actions() {
  return [
    { title: 'Choose Context…', command: kubeconfigActions.chooseContext },
    { title: 'Start Demo Cluster', command: kubeconfigActions.startDemoCluster },
  ];
}

function classify(e: unknown, server: string): DevlaneError {
  if (e instanceof DevlaneError) return e;
  const code = httpCode(e);
  if (code === 401) return new DevlaneError('cluster-unauthorized', `The cluster at ${server} refused the credentials in the kubeconfig (401). Log in again (refresh the token) or choose another context.`, { actions: actions(), cause: e });
  if (code === 403) return new DevlaneError('rbac-forbidden', `The cluster at ${server} forbids reading its version (403). Ask for "get" on the non-resource URL /version.`, { cause: e });
  const sys = (e as { code?: string; cause?: { code?: string } } | null);
  const errno = sys?.code ?? sys?.cause?.code;
  const why = errno ? `${errno}` : e instanceof Error ? e.message : String(e);
  return new DevlaneError('cluster-unreachable', `The cluster at ${server} cannot be reached (${why}). Check that it runs and that the address is right, or choose another context.`, { actions: actions(), cause: e });
}

/** The HTTP status of a client-node ApiException, if that is what this is. */
export function httpCode(e: unknown): number | undefined {
  // client-node's ApiException carries `code`; watch and log requests fail with `statusCode`.
  const o = e as { code?: unknown; statusCode?: unknown } | null;
  if (typeof o?.code === 'number') return o.code;
  return typeof o?.statusCode === 'number' ? o.statusCode : undefined;
}
