/**
 * Names and labels of what the in-cluster agent creates, shared by the data plane (which creates
 * them) and the extension (which validates what the user types) without pulling in the kube client.
 */
export const agentLabels = {
  managedBy: 'app.kubernetes.io/managed-by',
  /** `tunnel-agent` on the Job, its pod and ConfigMap; `tunnel-service` on Services in front of agent listeners. */
  component: 'devlane.dev/component',
  owner: 'devlane.dev/owner',
  /** The agent's name on everything that belongs to it; the Services select the pod by it. */
  agent: 'devlane.dev/agent',
} as const;

/** Kubernetes Service names are RFC 1035 labels. */
export function validServiceName(name: string): boolean {
  return name.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name);
}
