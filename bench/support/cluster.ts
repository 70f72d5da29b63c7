import { clusterDown, clusterStatus } from '../../cluster/api';
import { consoleLogger } from '../../extension/core/log';
import { testCluster, type TestCluster } from '../../test/support/cluster';
import type { Teardown } from './teardown';

/**
 * The cluster a bench runs against, as the tests get it (testCluster: the one DEVLANE_TEST_KUBECONFIG
 * names, else the embedded test cluster). A cluster the bench had to start is taken down when it ends
 * (also on Ctrl-C or kill), as `npm test` does; one that was already running (a developer's demo)
 * is left running.
 */
export async function benchCluster(t: Teardown): Promise<TestCluster> {
  // Registered before starting, so a bench stopped while the cluster comes up still takes it down.
  if (!process.env.DEVLANE_TEST_KUBECONFIG && !(await clusterStatus()).apiServer) {
    t.defer('the test cluster this bench started', () => clusterDown({ log: consoleLogger('warn', 'bench-cluster') }));
  }
  return testCluster();
}
