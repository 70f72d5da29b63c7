import type { KubeConfig } from '@kubernetes/client-node';
import { clusterDown, clusterStatus, clusterUp, loadKc } from '../../cluster/api';
import { consoleLogger } from '../../extension/core/log';
import type { Teardown } from './teardown';

export interface BenchCluster {
  readonly kc: KubeConfig;
  readonly kubeconfigPath: string;
}

/**
 * The cluster a bench runs against: the one DEVLANE_TEST_KUBECONFIG names, else the embedded test
 * cluster. A cluster the bench had to start is taken down when it ends (also on Ctrl-C or kill),
 * as `npm test` does; one that was already running (a developer's demo) is left running.
 */
export async function benchCluster(t: Teardown): Promise<BenchCluster> {
  const given = process.env.DEVLANE_TEST_KUBECONFIG;
  if (given) return { kubeconfigPath: given, kc: loadKc(given) };
  const log = consoleLogger('warn', 'bench-cluster');
  // Registered before starting, so a bench stopped while the cluster comes up still takes it down.
  if (!(await clusterStatus()).apiServer) t.defer('the test cluster this bench started', () => clusterDown({ log }));
  const c = await clusterUp({ samples: true, log });
  return { kubeconfigPath: c.kubeconfigPath, kc: loadKc(c.kubeconfigPath) };
}
