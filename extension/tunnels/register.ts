import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DevlaneContext } from '../context';
import { validServiceName } from '../../dataplane/agent/names';
import { parseSshConfig } from '../../dataplane/ssh/sshConfig';
import type { ControllerMethods } from '../../dataplane/ipc/protocol';
import { DevlaneError } from '../core/errors';
import { Emitter } from '../core/events';
import type { DeclaredTunnel } from '../core/config/devlaneYaml';
import { defaultRuntimeDir } from '../core/tunnels/dataPlane';
import { declaredTunnels, declaredTunnelSpec, DeclaredSetup, type TunnelDefaults } from '../core/tunnels/declared';
import { CLUSTER_DOMAINS, describeInjection, injectProxy, proxyEnvironment, runsProgram, type DebugConfig } from '../core/tunnels/proxyEnv';
import { checkBastionForward, explainBastionRefusal, isLoopback, targetHost } from '../core/tunnels/registry/inbound';
import { TunnelController } from '../core/tunnels/tunnelController';
import { serviceNeedsAgent, type TunnelSpec } from '../core/tunnels/tunnelSession';
import { endRegistrations, registerServiceRegistrations } from './registrations';
import { watchTunnelOutages } from './outageAlerts';
import { TunnelStatusItem } from './statusItem';
import { TunnelsView } from './tunnelsView';

const LAST_DESTINATION = 'devlane.tunnel.lastDestination';
/** The devlane.yaml tunnel connected last, set up again when a restarted extension host re-attaches to it. */
const DECLARED = 'devlane.tunnel.declaredName';
const AGENT = 'In-cluster agent (no bastion)';
const secretKey = (q: ControllerMethods['ask.secret']['params']) => `devlane.tunnel/${q.kind}/${q.account}`;

/**
 * Tunnels in the editor: the status-bar toggle, the Tunnels view, the palette commands, proxy
 * injection into run/debug sessions and terminals. The tunnel itself runs in the data-plane process.
 */
export function registerTunnels(ctx: DevlaneContext): TunnelController {
  const ext = ctx.extension;
  const controller = new TunnelController(
    {
      command: [process.execPath, path.join(ext.extensionPath, 'dist', 'dataplane.js')],
      runtimeDir: defaultRuntimeDir(),
      instance: ext.storageUri?.fsPath ?? `${ext.globalStorageUri.fsPath}|${vscode.env.sessionId}`,
      log: ctx.logger,
      answers: { hostKey: askHostKey, secret: (q) => askSecret(ext.secrets, q) },
    },
    ctx.sessions,
    ctx.logger,
  );
  ctx.own({ dispose: () => void controller.shutdown().finally(() => controller.dispose()) });
  ctx.own(new TunnelStatusItem(ctx, controller));
  ctx.own(watchTunnelOutages(ctx, controller));
  // The set-up of the devlane.yaml tunnel that is on, shown in the Tunnels view.
  const declaredChanged = ctx.own(new Emitter<void>());
  let declaredSetup: DeclaredSetup | undefined;
  const showDeclared = (setup: DeclaredSetup) => {
    declaredSetup = setup;
    const sub = setup.onDidChange(() => declaredChanged.fire());
    // Its failure was shown as an error with a way out; say so when it came up by itself after all.
    const recovered = setup.onDidRecover((o) => void vscode.window.showInformationMessage(`Devlane: devlane.yaml tunnel "${setup.declared.name}": ${o.label} is set up now.`));
    declaredChanged.fire();
    // Tied to the tunnel: gone (and no longer shown) when it is.
    controller.own({
      dispose: () => {
        sub.dispose();
        recovered.dispose();
        setup.dispose();
        if (declaredSetup === setup) declaredSetup = undefined;
        declaredChanged.fire();
      },
    });
  };
  ctx.own(new TunnelsView(controller, ctx.sessions, { current: () => declaredSetup, onDidChange: declaredChanged.event }));
  registerServiceRegistrations(ctx, controller);

  // With devlane.tunnel.proxyAuth the tunnel makes fresh credentials at connect (held in memory only).
  const start = (tunnelSpec: TunnelSpec) =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Devlane: connecting tunnel (${tunnelSpec.destination})` }, () =>
      controller.connect({ ...tunnelSpec, proxyAuth: ctx.config.get('devlane.tunnel.proxyAuth') === true }),
    );
  const connect = async () => {
    if (controller.session) return;
    // A team's tunnels from devlane.yaml come first; without any, the setting or a question.
    const declared = await pickDeclared(ctx);
    if (declared === 'cancelled') return;
    if (declared) {
      const tunnelSpec = declaredTunnelSpec(declared, defaults(ctx), declared.transport === 'agent' ? (await agentSpec(ctx, declared.agent?.namespace)).agent : undefined);
      const session = await start(tunnelSpec);
      await ext.workspaceState.update(DECLARED, declared.name);
      showDeclared(await setUpDeclared(ctx, session, declared, false));
      return;
    }
    await ext.workspaceState.update(DECLARED, undefined);
    const destination = await pickDestination(ctx);
    if (!destination) return;
    const tunnelSpec = destination === AGENT ? await agentSpec(ctx) : spec(ctx, destination);
    if (destination !== AGENT) await ext.workspaceState.update(LAST_DESTINATION, destination);
    await start(tunnelSpec);
  };
  ctx.registerCommand('devlane.tunnel.connect', connect);
  // Registrations first: deregistering travels through the tunnel.
  const disconnect = () => endRegistrations(ctx.sessions).then(() => controller.disconnect());
  ctx.registerCommand('devlane.tunnel.disconnect', disconnect);
  // The way out when a feature needs a pod on the far side (a Service) and the tunnel is SSH.
  ctx.registerCommand('devlane.tunnel.connectAgent', async () => {
    if (controller.session?.transport === 'agent') return;
    const tunnelSpec = await agentSpec(ctx);
    await disconnect();
    await start(tunnelSpec);
  });
  ctx.registerCommand('devlane.tunnel.toggle', () => (controller.state === 'off' || controller.state === 'error' ? connect() : disconnect()));
  ctx.registerCommand('devlane.tunnel.showLog', () => ctx.log.show(true));
  ctx.registerCommand('devlane.tunnel.openTerminal', () => {
    const ep = controller.endpoints;
    if (!ep) throw notOn();
    // Transient: VS Code would otherwise keep the terminal's launch settings (its env, the proxy
    // credentials with it) to revive it after a restart, when this tunnel and its credentials are gone.
    const terminal = vscode.window.createTerminal({ name: 'Devlane tunnel', env: proxyEnvironment(ep, process.env), isTransient: true });
    terminal.show();
  });
  ctx.registerCommand('devlane.tunnel.addReverseForward', async () => {
    const s = controller.session;
    if (!s || !controller.endpoints) throw notOn();
    // The same command for both transports: a remote forward on the bastion, or a listener in the agent pod.
    const agent = s.transport === 'agent';
    const where = agent ? 'the tunnel agent pod' : 'the bastion';
    const local = await askPort('Reverse forward (1/2)', `Local port ${where} should reach (your locally running service)`);
    if (!local) return;
    const remote = await vscode.window.showInputBox({
      title: 'Reverse forward (2/2)',
      prompt: agent ? 'Address and port to listen on in the agent pod (0.0.0.0 lets other pods call it; port 0: any free port)' : 'Address and port to listen on at the bastion (loopback keeps it private to the bastion)',
      value: `${agent ? '0.0.0.0' : '127.0.0.1'}:${local}`,
      validateInput: (v) => (parseBind(v) ? undefined : 'address:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080'),
    });
    const bind = remote && parseBind(remote);
    if (!bind) return;
    let f;
    try {
      f = await s.addReverseForward({ bindAddress: bind.address, bindPort: bind.port, localHost: '127.0.0.1', localPort: local });
    } catch (e) {
      throw agent ? e : explainBastionRefusal(e, bind.address);
    }
    if (!agent && !isLoopback(f.bindAddress)) {
      // sshd may have bound it to its loopback anyway (GatewayPorts): say so rather than leave a forward pods cannot reach.
      const forward = f;
      await checkBastionForward(s.registryRoute(), forward, targetHost(s.target)).catch(async (e: unknown) => {
        await s.removeReverseForward(forward.bindAddress, forward.bindPort).catch(() => undefined);
        throw e;
      });
    }
    const at = f.reachable ? `${f.reachable.address}:${f.reachable.port}` : `${f.bindAddress}:${f.bindPort}`;
    void vscode.window.showInformationMessage(`${agent ? 'Agent pod' : 'Bastion'} ${at} now reaches localhost:${f.localPort}.`);
  });
  ctx.registerCommand('devlane.tunnel.exposeService', async () => {
    const s = controller.session;
    if (!s || !controller.endpoints) throw notOn();
    // Refused before any question: a Service selects pods, and a bastion is not one.
    if (s.transport !== 'agent') throw serviceNeedsAgent();
    const local = await askPort('Expose local port as Service (1/3)', 'Local port the Service should reach (your locally running service)');
    if (!local) return;
    const name = await vscode.window.showInputBox({
      title: 'Expose local port as Service (2/3)',
      prompt: 'Name of the Kubernetes Service pods will call (in the tunnel agent\'s namespace)',
      value: `${os.userInfo().username}-${local}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^[^a-z]+/, '').slice(0, 63).replace(/-+$/, ''),
      validateInput: (v) => (validServiceName(v) ? undefined : "Lowercase letters, digits and '-', starting with a letter, at most 63 characters"),
    });
    if (!name) return;
    const port = await askPort('Expose local port as Service (3/3)', `Port of the Service (pods call ${name}:PORT)`, String(local));
    if (!port) return;
    const f = await s.exposeService(local, { name, port });
    const address = f.service ? `${f.service.host}:${f.service.port}` : `${name}:${port}`;
    const copy = 'Copy Address';
    const picked = await vscode.window.showInformationMessage(`Pods now reach localhost:${local} at ${address}. The Service is deleted when the tunnel stops.`, copy);
    if (picked === copy) await vscode.env.clipboard.writeText(address);
  });

  // Any run or debug session started while the tunnel is on gets the proxy (set `"devlaneTunnel": false` to opt out).
  const javaAgentJar = path.join(ext.extensionPath, 'dist', 'devlane-agent.jar');
  ctx.own(
    vscode.debug.registerDebugConfigurationProvider('*', {
      resolveDebugConfiguration(_folder, config) {
        const ep = controller.endpoints;
        if (!ep || (config as { devlaneTunnel?: boolean }).devlaneTunnel === false || !runsProgram(config as DebugConfig)) return config;
        // A JVM gets Devlane's Java agent (cluster names, NIO, the proxy's credentials): without the
        // jar (a damaged installation) -javaagent would stop the JVM, so the session starts without
        // the tunnel and says why.
        if (config.type === 'java' && !fs.existsSync(javaAgentJar)) {
          void ctx.showError(new DevlaneError('internal', `The tunnel was not added to the Java session "${config.name ?? ''}": Devlane's Java agent (${javaAgentJar}), which routes cluster names and NIO through the tunnel and answers its authentication, is missing. Reinstall the Devlane extension.`));
          return config;
        }
        // The line says where and whether authentication is on; the injected values are never logged.
        ctx.log.info(describeInjection(config as DebugConfig, ep));
        const domains = (ctx.config.get('devlane.tunnel.clusterDomains') ?? []).filter((d) => typeof d === 'string' && d.trim() !== '');
        return injectProxy(config as DebugConfig, ep, javaAgentJar, domains.length ? domains : CLUSTER_DOMAINS) as vscode.DebugConfiguration;
      },
    }),
  );

  // A tunnel service left by a previous extension host (crash or kill) is picked up, not duplicated.
  setImmediate(() =>
    void controller.reattach().then(async () => {
      const name = ext.workspaceState.get<string>(DECLARED);
      const session = controller.session;
      if (!name || !session) return;
      // Its forwards lived on in the data plane; its registrations ended with the old extension host.
      const declared = await readDeclared();
      const d = declared?.ok ? declared.tunnels.find((t) => t.name === name) : undefined;
      if (d) showDeclared(await setUpDeclared(ctx, session, d, true));
    }).catch((e: unknown) => ctx.showError(e)),
  );
  return controller;
}

function notOn(): DevlaneError {
  return new DevlaneError('tunnel-down', 'The tunnel is not on. Connect it first.', { actions: [{ title: 'Connect Tunnel', command: 'devlane.tunnel.connect' }] });
}

async function askPort(title: string, prompt: string, value?: string): Promise<number | undefined> {
  const v = await vscode.window.showInputBox({
    title,
    prompt,
    ...(value !== undefined ? { value } : {}),
    validateInput: (x) => (/^\d+$/.test(x) && Number(x) > 0 && Number(x) < 65536 ? undefined : 'A port number, 1–65535'),
  });
  return v ? Number(v) : undefined;
}

function parseBind(v: string): { address: string; port: number } | undefined {
  const colon = v.lastIndexOf(':');
  const address = colon < 0 ? '127.0.0.1' : v.slice(0, colon);
  const port = Number(colon < 0 ? v : v.slice(colon + 1));
  return Number.isInteger(port) && port >= 0 && port < 65536 && address ? { address, port } : undefined;
}

function defaults(ctx: DevlaneContext): TunnelDefaults {
  const keepalive = ctx.config.get('devlane.tunnel.keepaliveIntervalSeconds') ?? 15;
  const httpPort = ctx.config.get('devlane.tunnel.httpPort');
  return {
    socksPort: ctx.config.get('devlane.tunnel.socksPort') ?? 1080,
    ...(httpPort !== undefined && httpPort >= 0 ? { httpPort } : {}),
    keepaliveIntervalMs: keepalive * 1000,
    keepaliveCountMax: ctx.config.get('devlane.tunnel.keepaliveCountMax') ?? 3,
    ...(process.env.SSH_AUTH_SOCK ? { agentSocket: process.env.SSH_AUTH_SOCK } : {}),
  };
}

function spec(ctx: DevlaneContext, destination: string): TunnelSpec {
  return { destination, ...defaults(ctx) };
}

function devlaneYamlUri(): vscode.Uri | undefined {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  return root ? vscode.Uri.joinPath(root, 'devlane.yaml') : undefined;
}

/**
 * The tunnel to connect from devlane.yaml: the only one, or the one picked among several;
 * undefined when it declares none (or cannot be read: then it says why and the usual way applies).
 */
async function readDeclared(): Promise<ReturnType<typeof declaredTunnels> | undefined> {
  const uri = devlaneYamlUri();
  if (!uri) return undefined;
  try {
    // The editor's copy when it is open (possibly unsaved), else the file.
    const text = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())?.getText() ?? Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
    return declaredTunnels(text);
  } catch {
    return undefined;
  }
}

async function pickDeclared(ctx: DevlaneContext): Promise<DeclaredTunnel | undefined | 'cancelled'> {
  const uri = devlaneYamlUri();
  const r = await readDeclared();
  if (!r || !uri) return undefined;
  if (!r.ok) {
    const first = r.problems[0];
    void ctx.showError(
      new DevlaneError('invalid-input', `devlane.yaml has ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}${first ? ` (line ${first.line + 1}: ${first.message})` : ''}, so its tunnels are not used. Fix it (see Problems) and connect again.`, {
        actions: [{ title: 'Open devlane.yaml', command: 'vscode.open', args: [uri] }],
      }),
    );
    return undefined;
  }
  if (r.tunnels.length <= 1) return r.tunnels[0];
  const picked = await vscode.window.showQuickPick(
    r.tunnels.map((t) => ({ label: t.name, description: t.transport === 'ssh' ? `SSH via ${t.ssh?.host ?? '?'}` : `in-cluster agent${t.agent?.namespace ? ` in ${t.agent.namespace}` : ''}`, tunnel: t })),
    { title: 'Connect tunnel (from devlane.yaml)', placeHolder: 'Which of the team\'s tunnels' },
  );
  return picked?.tunnel ?? 'cancelled';
}

/** Sets up what the declared tunnel lists; each failure is shown with its way out, the others go on. */
async function setUpDeclared(ctx: DevlaneContext, session: NonNullable<TunnelController['session']>, declared: DeclaredTunnel, adoptExisting: boolean): Promise<DeclaredSetup> {
  const setup = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Devlane: setting up ${declared.name}` }, () =>
    DeclaredSetup.apply(session, declared, { sessions: ctx.sessions, log: ctx.logger, owner: `${os.userInfo().username}@${os.hostname()}`, adoptExisting }),
  );
  const uri = devlaneYamlUri();
  for (const f of setup.failures) {
    const e = f.error!;
    void ctx.showError(new DevlaneError(e.reason, `devlane.yaml tunnel "${declared.name}": ${f.label} could not be set up. ${e.message}`, { cause: e, actions: [...e.actions, ...(uri ? [{ title: 'Open devlane.yaml', command: 'vscode.open', args: [uri] }] : [])] }));
  }
  const done = setup.outcomes.length - setup.failures.length;
  if (setup.outcomes.length) ctx.logger.info(`devlane.yaml tunnel ${declared.name}: ${done} of ${setup.outcomes.length} declared items set up`);
  return setup;
}

/** The agent transport in the current cluster context's namespace (or `namespace`). */
async function agentSpec(ctx: DevlaneContext, namespace?: string): Promise<TunnelSpec> {
  const status = await ctx.kube.ready();
  if (status.state !== 'connected') throw status.state === 'error' ? status.error : new DevlaneError('cluster-unreachable', 'No cluster connection for the in-cluster agent. Choose a kubeconfig and context first.');
  const c = status.config;
  const owner = `${os.userInfo().username}-${os.hostname()}`.toLowerCase().replace(/[^a-z0-9._-]/g, '-').slice(0, 63).replace(/[^a-z0-9]+$/, '');
  return {
    ...spec(ctx, AGENT),
    destination: `agent in ${namespace ?? c.namespace}`,
    agent: { kubeconfig: c.files[0]!, context: c.context, namespace: namespace ?? c.namespace, scriptPath: path.join(ctx.extension.extensionPath, 'dist', 'tunnel-agent.js'), owner },
  };
}

/** Host aliases from ~/.ssh/config (no wildcards), the last destination first. */
async function pickDestination(ctx: DevlaneContext): Promise<string | undefined> {
  const configured = ctx.config.get('devlane.tunnel.destination');
  if (configured) return configured;
  const last = ctx.extension.workspaceState.get<string>(LAST_DESTINATION);
  let aliases: string[] = [];
  try {
    const cfg = parseSshConfig(fs.readFileSync(path.join(os.homedir(), '.ssh', 'config'), 'utf8'));
    aliases = cfg.blocks.flatMap((b) => (b.patterns === 'all' ? [] : b.patterns.filter((p) => !/[*?!]/.test(p))));
  } catch {
    // no SSH config: only the typed destination
  }
  const other = 'Other host…';
  const items = [...new Set([...(last ? [last] : []), ...aliases])];
  const picked = await vscode.window.showQuickPick([...items, other, AGENT], { title: 'Connect tunnel through', placeHolder: 'SSH host (aliases from ~/.ssh/config), or an agent pod in the cluster' });
  if (picked !== other) return picked;
  return vscode.window.showInputBox({ title: 'Connect tunnel through', prompt: 'SSH bastion as user@host[:port] or an alias from ~/.ssh/config', value: last ?? '' });
}

async function askHostKey(q: ControllerMethods['ask.hostKey']['params']): Promise<boolean> {
  const trust = 'Trust and Connect';
  const picked = await vscode.window.showWarningMessage(
    `Devlane has never connected to ${q.host}${q.port === 22 ? '' : `:${q.port}`} before.`,
    { modal: true, detail: `Its ${q.keyType} host key fingerprint is\n${q.fingerprint}\n\nCompare it with the fingerprint the server's administrator gives you. If you trust it, it is added to ~/.ssh/known_hosts.` },
    trust,
  );
  return picked === trust;
}

async function askSecret(secrets: vscode.SecretStorage, q: ControllerMethods['ask.secret']['params']): Promise<string | undefined> {
  const key = secretKey(q);
  if (q.retry) await secrets.delete(key);
  else {
    const stored = await secrets.get(key);
    if (stored !== undefined) return stored;
  }
  const what = q.kind === 'password' ? `Password for ${q.account}` : `Passphrase for ${path.basename(q.account)}`;
  const value = await vscode.window.showInputBox({ title: `Devlane tunnel: ${what}`, prompt: q.retry ? `${what} (the previous one was refused)` : what, password: true, ignoreFocusOut: true });
  if (value === undefined) return undefined;
  const remember = 'Remember (VS Code secret storage)';
  const choice = await vscode.window.showQuickPick([remember, 'Only this time'], { title: `Keep the ${q.kind}?`, ignoreFocusOut: true });
  if (choice === remember) await secrets.store(key, value);
  return value;
}
