import type { ErrorReason } from '../../extension/core/errors';
import type { ConnectionStats } from '../proxy/connections';
import type { HostKeyQuestion, ReverseForward, SecretQuestion, TransportStateName } from '../ssh/transport';
import type { SshHop } from '../ssh/sshConfig';

/** The messages between the extension (controller) and the data plane, typed once for both ends. */

/** 2: `tunnel.credentials`. A data plane left running by an older Devlane is replaced rather than asked what it cannot answer. */
export const PROTOCOL_VERSION = 2;

/** Instead of SSH: an agent pod in the cluster, reached through port-forward. */
export interface AgentParams {
  readonly kubeconfig: string;
  readonly context?: string;
  readonly namespace: string;
  /** Path of the bundled agent script (dist/tunnel-agent.js). */
  readonly scriptPath: string;
  readonly image?: string;
  readonly ttlSeconds?: number;
  readonly owner: string;
}

export interface StartTunnelParams {
  readonly id: string;
  readonly hops: readonly SshHop[];
  readonly agent?: AgentParams;
  readonly knownHostsFiles: readonly string[];
  readonly hashKnownHosts?: boolean;
  readonly agentSocket?: string;
  readonly socks: { readonly port: number; readonly username?: string; readonly password?: string };
  readonly http?: { readonly port: number };
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  readonly probeIntervalMs?: number;
  readonly degradedAfterMs?: number;
  readonly ciphers?: readonly string[];
}

/** A reverse forward to add: on the bastion (SSH) or a listener in the agent pod, optionally behind a new Kubernetes Service (agent only). */
export interface ForwardRequest extends ReverseForward {
  readonly service?: { readonly name: string; readonly port: number };
}

/** A live reverse forward as the Tunnels view and service registrations see it. */
export interface ForwardInfo extends ReverseForward {
  /** Where cluster workloads reach the forward directly, e.g. the agent pod's IP and listener port. */
  readonly reachable?: { readonly address: string; readonly port: number };
  /** The Service Devlane created in front of the listener. */
  readonly service?: { readonly name: string; readonly namespace: string; readonly host: string; readonly port: number };
}

export interface TunnelTotals {
  readonly opened: number;
  readonly live: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

export interface TunnelInfo {
  readonly id: string;
  readonly target: string;
  readonly socksPort: number;
  readonly httpPort?: number;
  readonly state: TunnelStateEvent;
  readonly forwards: readonly ForwardInfo[];
  readonly totals: TunnelTotals;
  readonly transport?: 'ssh' | 'agent';
}

export interface TunnelStateEvent {
  readonly id: string;
  readonly state: TransportStateName;
  readonly rttMs?: number;
  readonly detail?: string;
  readonly error?: { readonly reason: ErrorReason; readonly message: string };
}

export interface Hello {
  readonly pid: number;
  readonly version: number;
  readonly tunnels: readonly TunnelInfo[];
}

/** Controller → data plane requests. */
export interface DataPlaneMethods {
  hello: { params: { version: number }; result: Hello };
  'tunnel.start': { params: StartTunnelParams; result: TunnelInfo };
  'tunnel.stop': { params: { id: string }; result: null };
  'tunnel.addReverseForward': { params: { id: string } & ForwardRequest; result: ForwardInfo };
  'tunnel.removeReverseForward': { params: { id: string; bindAddress: string; bindPort: number }; result: null };
  'tunnel.connections': { params: { id: string }; result: { live: ConnectionStats[]; recent: ConnectionStats[] } };
  /** The username/password the tunnel's proxies require (null: none), for a controller that re-attached. */
  'tunnel.credentials': { params: { id: string }; result: { username: string; password: string } | null };
  shutdown: { params: Record<string, never>; result: null };
}

/** Data plane → controller requests. */
export interface ControllerMethods {
  'ask.hostKey': { params: { id: string } & HostKeyQuestion; result: boolean };
  'ask.secret': { params: { id: string } & SecretQuestion; result: string | null };
}

/** Data plane → controller events. */
export interface DataPlaneEvents {
  'tunnel.state': TunnelStateEvent;
  'tunnel.totals': { id: string; totals: TunnelTotals };
  log: { level: 'debug' | 'info' | 'warn' | 'error'; message: string };
}
