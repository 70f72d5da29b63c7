import { stringify } from 'yaml';
import { network } from './paths';

/**
 * The kwokctl configuration file for our cluster. Giving our own Stages replaces all of kwok's
 * default ones, which is the point: kwok's default pod stage marks a pod Running and Ready the
 * moment it is bound, before anything runs. Ours only gives a bound pod its IPs and leaves it
 * Pending; the pod runner reports Running/Ready when the processes really are (as a kubelet does).
 */
export function kwokctlConfig(opts: { kwokPath: string; kubeVersion: string }): string {
  const docs: unknown[] = [
    {
      apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
      kind: 'KwokctlConfiguration',
      options: {
        runtime: 'binary',
        // kwok's kubelet API runs exec commands as root without authenticating: loopback only.
        bindAddress: '127.0.0.1',
        kubeVersion: opts.kubeVersion,
        enableCRDs: ['PortForward', 'ClusterPortForward', 'Exec', 'ClusterExec', 'Logs', 'ClusterLogs', 'Attach', 'ClusterAttach'],
      },
      componentsPatches: [
        { name: 'kube-apiserver', extraArgs: [{ key: 'service-cluster-ip-range', value: network.serviceNetwork }] },
        // kwok resolves exec commands with its own PATH: ours starts with the dispatcher folder.
        { name: 'kwok-controller', extraEnvs: [{ name: 'PATH', value: opts.kwokPath }] },
      ],
    },
    stage('devlane-node-ready', 'Node', [{ key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: 'NotIn', values: ['True'] }], {
      statusTemplate: nodeReadyTemplate,
    }),
    stage(
      'devlane-pod-network',
      'Pod',
      [
        { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
        { key: '.status.podIP', operator: 'DoesNotExist' },
      ],
      { statusTemplate: podNetworkTemplate },
    ),
    // The pod runner stops a deleted pod's processes and then removes the pod itself; this is the
    // safety net for when it cannot (as with a dead kubelet, but not forever).
    stage('devlane-pod-delete-fallback', 'Pod', [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }], { delete: true }, { delay: { durationMilliseconds: 30_000 } }),
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

function stage(name: string, kind: 'Node' | 'Pod', matchExpressions: unknown[], next: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name },
    spec: { resourceRef: { apiGroup: 'v1', kind }, selector: { matchExpressions }, ...extra, next },
  };
}

// Nodes are created with their addresses, capacity and allocatable; the stage only makes them Ready
// and points the API server at kwok's kubelet port.
const nodeReadyTemplate = `{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
  message: {{ .message | Quote }}
  reason: {{ .reason | Quote }}
  status: {{ .status | Quote }}
  type: {{ .type | Quote }}
{{ end }}
{{ with NodePort }}
daemonEndpoints:
  kubeletEndpoint:
    Port: {{ . }}
{{ end }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  containerRuntimeVersion: devlane-pod-runner://{{ Version }}
  kubeletVersion: {{ Version }}
  kubeProxyVersion: {{ Version }}
  kernelVersion: ""
  osImage: "Devlane test cluster (kwok)"
  bootID: ""
  machineID: ""
  systemUUID: ""
phase: Running
`;

const podNetworkTemplate = `{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: PodReadyToStartContainers
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  reason: ContainersNotReady
  status: "False"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  reason: ContainersNotReady
  status: "False"
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    waiting:
      reason: ContainerCreating
{{ end }}
{{ $hostIPs := NodeIPsWith .spec.nodeName }}
{{ with $hostIPs }}
hostIP: {{ index . 0 | Quote }}
hostIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
{{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
{{ with $podIPs }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Pending
startTime: {{ $now | Quote }}
`;
