import * as os from 'node:os';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { DevlaneError } from '../core/errors';
import type { SessionRegistry } from '../core/sessions/registry';
import { openInbound, targetHost } from '../core/tunnels/registry/inbound';
import { RegistrationSession, validRegistryServiceName } from '../core/tunnels/registry/registrationSession';
import { registryKinds, type RegistryKind } from '../core/tunnels/registry/types';
import type { TunnelController } from '../core/tunnels/tunnelController';

const LAST = 'devlane.tunnel.lastRegistration';
interface LastRegistration {
  kind: RegistryKind;
  urls: Partial<Record<RegistryKind, string>>;
  serviceName?: string;
  localPort?: number;
  address?: string;
}

const kindLabels: Record<RegistryKind, string> = { consul: 'Consul', eureka: 'Eureka', nacos: 'Nacos' };
const defaultUrls: Record<RegistryKind, string> = {
  consul: 'http://consul.consul.svc.cluster.local:8500',
  eureka: 'http://eureka.default.svc.cluster.local:8761/eureka',
  nacos: 'http://nacos.default.svc.cluster.local:8848/nacos',
};

/** The live registrations, newest last (the Tunnels view lists them under the tunnel). */
export function registrations(sessions: SessionRegistry): RegistrationSession[] {
  return sessions.list('registration').filter((s): s is RegistrationSession => s instanceof RegistrationSession);
}

/** Deregisters everything first: deregistration travels through the tunnel, so it must precede a disconnect. */
export async function endRegistrations(sessions: SessionRegistry): Promise<void> {
  await Promise.all(registrations(sessions).map((r) => sessions.end(r.id)));
}

/**
 * "Register Local Service…": a remote forward to the local port — on the bastion (on all its
 * addresses, so pods can dial it) or in the agent pod — announced in Consul, Eureka or Nacos under
 * the address pods reach it at. The registration is a session: ending it deregisters and removes
 * the forward.
 */
export function registerServiceRegistrations(ctx: DevlaneContext, controller: TunnelController): void {
  const state = ctx.extension.workspaceState;
  ctx.registerCommand('devlane.tunnel.registerService', async () => {
    const tunnel = controller.session;
    const ep = controller.endpoints;
    if (!tunnel || !ep) throw new DevlaneError('tunnel-down', 'The tunnel is not on: registering a local service needs it for the inbound forward and to reach the registry. Connect it first.', { actions: [{ title: 'Connect Tunnel', command: 'devlane.tunnel.connect' }] });
    const last = state.get<LastRegistration>(LAST);
    // Not `kind`: QuickPickItem has a `kind` of its own (separator or default).
    const items: (vscode.QuickPickItem & { readonly registry: RegistryKind })[] = registryKinds.map((k) => ({ label: kindLabels[k], registry: k }));
    const picked = await vscode.window.showQuickPick(
      items,
      { title: 'Register local service: registry', placeHolder: last ? `last: ${kindLabels[last.kind]}` : 'Which service registry the cluster uses' },
    );
    if (!picked) return;
    const kind = picked.registry;
    const url = await vscode.window.showInputBox({
      title: `Register local service: ${kindLabels[kind]} address`,
      prompt: 'The registry\'s HTTP address as the cluster sees it (reached through the tunnel)',
      value: last?.urls[kind] ?? defaultUrls[kind],
      validateInput: (v) => (isHttpUrl(v) ? undefined : 'An http:// URL, e.g. ' + defaultUrls[kind]),
    });
    if (!url) return;
    const serviceName = await vscode.window.showInputBox({
      title: 'Register local service: service name',
      prompt: 'The name other services look up',
      value: last?.serviceName ?? '',
      validateInput: (v) => (validRegistryServiceName(v) ? undefined : 'Letters, digits and dashes, at most 63'),
    });
    if (!serviceName) return;
    const port = await vscode.window.showInputBox({
      title: 'Register local service: local port',
      prompt: 'The port your locally running service listens on',
      value: last?.localPort ? String(last.localPort) : '',
      validateInput: (v) => (/^\d+$/.test(v) && Number(v) > 0 && Number(v) < 65536 ? undefined : 'A port number, 1–65535'),
    });
    if (!port) return;
    // The agent knows where pods reach its listener; a bastion's cluster-side address only the user knows.
    let address: string | undefined;
    if (tunnel.transport === 'ssh') {
      address = await vscode.window.showInputBox({
        title: 'Register local service: bastion address',
        // sshd binds remote forwards to its loopback whatever is asked unless GatewayPorts allows otherwise.
        prompt: 'The address pods reach the bastion at (its cluster-side IP or name), registered with the forwarded port. The bastion\'s sshd needs GatewayPorts clientspecified (or yes).',
        value: last?.address ?? targetHost(tunnel.target),
        validateInput: (v) => (v.trim() && !/\s|\//.test(v) ? undefined : 'A host name or IP address'),
      });
      if (!address) return;
    }
    await state.update(LAST, { kind, urls: { ...last?.urls, [kind]: url }, serviceName, localPort: Number(port), ...(address ? { address } : last?.address ? { address: last.address } : {}) } satisfies LastRegistration);

    // Port 0: the bastion (or agent) picks a free port; the registry gets the one it chose. On a
    // bastion, the forward is dialled at the registered address first (sshd may bind it to its loopback only).
    const { inbound, close: removeForward } = await openInbound(tunnel, { localPort: Number(port), ...(address ? { clusterAddress: address } : {}) });
    const session = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Devlane: registering ${serviceName} in ${kindLabels[kind]}` }, () =>
      RegistrationSession.start(
        {
          registry: { kind, url },
          instance: {
            serviceName,
            inbound,
            metadata: { 'devlane-owner': `${os.userInfo().username}@${os.hostname()}`, 'devlane-local-port': port },
          },
          route: tunnel.registryRoute(),
          carriedBy: tunnel.id,
          onEnded: removeForward,
        },
        ctx.logger,
      ),
    );
    ctx.sessions.add(session);
    void vscode.window.showInformationMessage(`${serviceName} is registered in ${kindLabels[kind]} as ${inbound.address}:${inbound.port}, which reaches localhost:${port}.`);
  });

  ctx.registerCommand('devlane.tunnel.deregisterService', async (arg?: unknown) => {
    let target = arg instanceof RegistrationSession ? arg : undefined;
    if (!target) {
      const live = registrations(ctx.sessions);
      if (!live.length) {
        void vscode.window.showInformationMessage('No local service is registered.');
        return;
      }
      const picked = await vscode.window.showQuickPick(live.map((r) => ({ label: r.label, description: r.status.detail, r })), { title: 'Deregister local service' });
      target = picked?.r;
    }
    if (target) await ctx.sessions.end(target.id);
  });

  // A registration without its tunnel points nowhere: end it when the tunnel goes off (e.g. it failed).
  ctx.own(
    controller.onDidChange(() => {
      if (!controller.session) void endRegistrations(ctx.sessions);
    }),
  );
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' && !!u.hostname;
  } catch {
    return false;
  }
}
