import type { ForwardInfo } from '../../../../dataplane/ipc/protocol';
import { DevlaneError } from '../../errors';
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
  if (forward.bindAddress === '127.0.0.1' || forward.bindAddress === 'localhost' || forward.bindAddress === '::1') {
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
