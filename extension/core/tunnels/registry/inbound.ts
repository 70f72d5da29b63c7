import type { ForwardInfo, ForwardRequest } from '../../../../dataplane/ipc/protocol';
import { DevlaneError } from '../../errors';
import { socksConnect, type RegistryRoute } from './http';
import type { InboundAddress } from './types';

/**
 * Where pods reach a reverse forward. The agent transport reports it (`reachable`: the agent pod's
 * IP and listener port); a bastion does not know its own cluster-side address, so the user gives
 * it and the forward's bound port completes it.
 */
export function inboundFor(transport: 'ssh' | 'agent', forward: ForwardInfo, bastionAddress?: string): InboundAddress {
  if (forward.reachable) return { address: forward.reachable.address, port: forward.reachable.port, via: transport === 'agent' ? 'agent' : 'bastion' };
  if (transport === 'agent') throw new DevlaneError('tunnel-down', 'The in-cluster agent did not report where pods reach its listener, so there is nothing to register. Reconnect the tunnel and try again.');
  if (!bastionAddress) throw new DevlaneError('invalid-input', 'Give the address pods use to reach the bastion: the forward on the bastion is registered under it.');
  if (isLoopback(forward.bindAddress)) {
    throw new DevlaneError('invalid-input', `The forward listens on the bastion's loopback (${forward.bindAddress}), which pods cannot reach. Forward on 0.0.0.0 or the bastion's cluster-side address.`);
  }
  return { address: bastionAddress, port: forward.bindPort, via: 'bastion' };
}

/** The host part of a tunnel target `user@host:port` (the data plane's own format), as a default bastion address. */
export function targetHost(target: string): string {
  const at = target.lastIndexOf('@');
  const rest = target.slice(at + 1);
  const colon = rest.lastIndexOf(':');
  return colon > 0 && !rest.startsWith('[') ? rest.slice(0, colon) : rest;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
export const isLoopback = (address: string) => LOOPBACK.has(address) || address.startsWith('127.');

/**
 * Whether a TCP connection to host:port opens from the tunnel's far side (the bastion or the agent
 * pod): true when it does, false when the far side could not connect; a tunnel that is down or
 * refuses Devlane throws.
 */
export async function reachableFromFarSide(route: RegistryRoute, host: string, port: number, timeoutMs = 15_000): Promise<boolean> {
  if (route.kind !== 'socks') throw new DevlaneError('internal', 'Probing from the far side needs the tunnel\'s SOCKS proxy.');
  try {
    const s = await socksConnect({ host: route.host ?? '127.0.0.1', port: route.port, ...(route.credentials ? { credentials: route.credentials } : {}) }, host, port, timeoutMs);
    s.destroy();
    return true;
  } catch (e) {
    if (e instanceof DevlaneError && e.reason === 'cluster-unreachable') return false;
    throw e;
  }
}

/**
 * sshd listens on its loopback only, whatever address a remote forward asks for, unless its
 * `GatewayPorts` is `clientspecified` (or `yes`), and it says nothing about it. So a forward meant
 * for pods is dialled from the bastion itself at the address pods are given: when that fails while
 * the bastion's loopback answers, the forward is loopback-only and registering it would announce an
 * address nobody can reach.
 */
export async function checkBastionForward(route: RegistryRoute, forward: ForwardInfo, clusterAddress: string): Promise<void> {
  if (isLoopback(forward.bindAddress)) return;
  // A specific bind address is where sshd listens; 0.0.0.0 / :: / * is reached at the cluster address.
  const wildcard = forward.bindAddress === '0.0.0.0' || forward.bindAddress === '::' || forward.bindAddress === '*' || forward.bindAddress === '';
  const address = wildcard ? clusterAddress : forward.bindAddress;
  if (await reachableFromFarSide(route, address, forward.bindPort)) return;
  const fix = 'Set "GatewayPorts clientspecified" in the bastion\'s /etc/ssh/sshd_config and reload sshd, or connect through the in-cluster agent instead.';
  const actions = [{ title: 'Connect through the In-Cluster Agent', command: 'devlane.tunnel.connectAgent' }];
  if (await reachableFromFarSide(route, '127.0.0.1', forward.bindPort)) {
    throw new DevlaneError('bastion-loopback-only', `The bastion's sshd listens for the forward on its loopback only (127.0.0.1:${forward.bindPort}), not on ${forward.bindAddress}: pods cannot reach ${address}:${forward.bindPort}. ${fix}`, { actions });
  }
  throw new DevlaneError('cluster-unreachable', `The forward on the bastion (port ${forward.bindPort}) accepts no connections at ${address} nor on the bastion's loopback. Check that ${address} is the bastion's address on the cluster side; ${fix}`, { actions });
}

/** A refused non-loopback forward says what the bastion needs; other errors pass unchanged. */
export function explainBastionRefusal(e: unknown, bindAddress: string): unknown {
  if (!(e instanceof DevlaneError) || e.reason !== 'port-in-use' || isLoopback(bindAddress)) return e;
  return new DevlaneError(
    e.reason,
    `${e.message} A forward other pods can reach needs "AllowTcpForwarding yes" (or remote) and "GatewayPorts clientspecified" in the bastion's sshd_config; or connect through the in-cluster agent.`,
    { cause: e, actions: [{ title: 'Connect through the In-Cluster Agent', command: 'devlane.tunnel.connectAgent' }] },
  );
}

/** The part of a tunnel an inbound path needs (a TunnelSession). */
export interface InboundTunnel {
  readonly transport: 'ssh' | 'agent';
  readonly target: string;
  addReverseForward(f: ForwardRequest): Promise<ForwardInfo>;
  removeReverseForward(bindAddress: string, bindPort: number): Promise<void>;
  registryRoute(): RegistryRoute;
}

export interface OpenedInbound {
  readonly forward: ForwardInfo;
  readonly inbound: InboundAddress;
  /** Removes the forward. */
  close(): Promise<void>;
}

/**
 * A forward pods can reach, for a registration: on all the bastion's addresses (checked to be
 * reachable, see checkBastionForward) or a listener in the agent pod. Nothing stays open when it fails.
 */
export async function openInbound(tunnel: InboundTunnel, req: { localPort: number; remotePort?: number; clusterAddress?: string; existing?: ForwardInfo }): Promise<OpenedInbound> {
  const bindAddress = '0.0.0.0';
  let forward: ForwardInfo;
  try {
    // `existing`: a forward the tunnel already has for this (kept by the data plane across an extension-host restart).
    forward = req.existing ?? (await tunnel.addReverseForward({ bindAddress, bindPort: req.remotePort ?? 0, localHost: '127.0.0.1', localPort: req.localPort }));
  } catch (e) {
    throw tunnel.transport === 'ssh' ? explainBastionRefusal(e, bindAddress) : e;
  }
  const close = () => tunnel.removeReverseForward(forward.bindAddress, forward.bindPort);
  try {
    const clusterAddress = req.clusterAddress ?? targetHost(tunnel.target);
    const inbound = inboundFor(tunnel.transport, forward, clusterAddress);
    if (tunnel.transport === 'ssh') await checkBastionForward(tunnel.registryRoute(), forward, inbound.address);
    return { forward, inbound, close };
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
}
