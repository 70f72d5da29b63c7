import { BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { execInPod, waitForPodReady } from '../../../support/cluster';
import { waitFor } from '../../../support/wait';

/**
 * The cluster side of in-cluster agent tests, shared by the integration tier and the VS Code tier:
 * a workload pod that calls the laptop, and what the agent leaves (or must not leave) behind.
 */

export interface CallerPod {
  readonly name: string;
  /** curl from the pod; resolves with stdout, or undefined when curl failed (connection refused, timeout). `pipe` is appended to the shell line. */
  curl(url: string, pipe?: string): Promise<string | undefined>;
}

/** A pod that calls the laptop (curl is the machine's: the test cluster's pods run host binaries); resolves once it is Ready. */
export async function startCallerPod(kc: KubeConfig, namespace: string, name = 'caller'): Promise<CallerPod> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'debian', command: ['sleep', 'infinity'] }] } } });
  await waitForPodReady(kc, namespace, name);
  return {
    name,
    async curl(url, pipe = '') {
      const r = await execInPod(kc, namespace, name, 'c', ['sh', '-c', `curl -sS --max-time 20 ${url}${pipe}`], 60_000);
      return r.status === 'Success' ? r.stdout : undefined;
    },
  };
}

/** True when reading the object answers 404; false when it exists (other errors propagate as false too). */
export function notFound(read: () => Promise<unknown>): Promise<boolean> {
  return read().then(
    () => false,
    (e: unknown) => (e as { code?: number }).code === 404,
  );
}

/** Everything of one agent that still exists: its Job, ConfigMap, pods and Services, as `kind/name`. */
export async function agentObjects(kc: KubeConfig, namespace: string, agent: string): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const selector = `devlane.dev/agent=${agent}`;
  const left: string[] = [];
  if (!(await notFound(() => batch.readNamespacedJob({ name: agent, namespace })))) left.push(`job/${agent}`);
  if (!(await notFound(() => core.readNamespacedConfigMap({ name: agent, namespace })))) left.push(`configmap/${agent}`);
  for (const p of (await core.listNamespacedPod({ namespace, labelSelector: selector })).items) left.push(`pod/${p.metadata?.name}`);
  for (const s of (await core.listNamespacedService({ namespace, labelSelector: selector })).items) left.push(`service/${s.metadata?.name}`);
  return left;
}

/** Waits until nothing of the agent is left; the timeout message names what still was. */
export async function waitForAgentGone(kc: KubeConfig, namespace: string, agent: string, timeoutMs: number): Promise<void> {
  let left: string[] = [];
  try {
    await waitFor(
      `everything of ${agent} to be deleted`,
      async () => {
        left = await agentObjects(kc, namespace, agent);
        return left.length === 0;
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (still there: ${left.join(', ')})`);
  }
}

/** The names of the agents (Jobs) running in the namespace. */
export async function agentNames(kc: KubeConfig, namespace: string): Promise<string[]> {
  const batch = kc.makeApiClient(BatchV1Api);
  const jobs = await batch.listNamespacedJob({ namespace, labelSelector: 'devlane.dev/component=tunnel-agent' });
  return jobs.items.map((j) => j.metadata?.labels?.['devlane.dev/agent'] ?? j.metadata?.name ?? '');
}
