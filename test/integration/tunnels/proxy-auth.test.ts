import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../../../extension/core/log';
import { SessionRegistry } from '../../../extension/core/sessions/registry';
import type { DataPlaneOptions } from '../../../extension/core/tunnels/dataPlane';
import { proxyEnvironment, type ProxyEndpoints } from '../../../extension/core/tunnels/proxyEnv';
import { TunnelController } from '../../../extension/core/tunnels/tunnelController';
import type { TunnelSpec } from '../../../extension/core/tunnels/tunnelSession';
import { waitFor } from '../../support/wait';
import { alive, createBastion, type Bastion } from './support/bastion';
import { socksConnect } from './support/clients';
import { dataPlaneFromSource } from './support/dataPlane';

/**
 * Proxy authentication end to end against real peers: the data plane started by the controller with
 * `proxyAuth`, OpenSSH's sshd on a bastion, a server behind it that only the bastion reaches, real
 * JVMs and curl as clients, and a second controller re-attaching as a restarted extension host does.
 */

/** Every line logged anywhere on the extension side (controller, data-plane client, data-plane events). */
const lines: string[] = [];
const recording: Logger = {
  trace: (m) => lines.push(m),
  debug: (m) => lines.push(m),
  info: (m) => lines.push(m),
  warn: (m) => lines.push(m),
  error: (m) => lines.push(m instanceof Error ? m.message : m),
};

let b: Bastion | undefined;
let runtimeDir = '';
let kh = '';
let controller: TunnelController | undefined;
let javaSrc = '';
let url = '';

const dataPlane = (): DataPlaneOptions => ({
  // Debug level: the data plane's log file records its handshake refusals too, which must not hold the credentials either.
  command: [...dataPlaneFromSource(), '--log', 'debug'],
  runtimeDir,
  instance: 'proxy-auth-test',
  graceMs: 60_000,
  startTimeoutMs: 60_000,
  log: recording,
  answers: { hostKey: async () => false, secret: async () => undefined },
});

const spec = (): TunnelSpec => ({ destination: `root@${b!.bastionIp}`, ssh: { identityFile: b!.userKey }, sshConfigFile: path.join(b!.dir, 'no-ssh-config'), knownHostsFiles: [kh], socksPort: 0, httpPort: 0, proxyAuth: true });

before(async () => {
  b = await createBastion();
  await b.startSshd();
  runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-proxy-auth-'));
  kh = path.join(b.dir, 'known_hosts_proxy_auth');
  fs.writeFileSync(kh, `${b.knownHostsLine}\n`);
  url = `http://${b.cloudName}:${b.cloudPort}/`;
  // A plain java.net client. With "authenticator" it installs the JDK's documented way to answer a
  // SOCKS5 server's username/password request; the credentials come from its environment.
  javaSrc = path.join(b.dir, 'AuthProbe.java');
  fs.writeFileSync(
    javaSrc,
    `public class AuthProbe { public static void main(String[] a) throws Exception {
      if (a[1].equals("authenticator")) {
        String u = System.getenv("PROBE_USER"), p = System.getenv("PROBE_PASSWORD");
        java.net.Authenticator.setDefault(new java.net.Authenticator() {
          protected java.net.PasswordAuthentication getPasswordAuthentication() {
            return "SOCKS5".equals(getRequestingProtocol()) ? new java.net.PasswordAuthentication(u, p.toCharArray()) : null;
          }
        });
      }
      try {
        var c = (java.net.HttpURLConnection) new java.net.URL(a[0]).openConnection();
        c.setConnectTimeout(20000);
        System.out.print("ok " + c.getResponseCode() + " " + new String(c.getInputStream().readAllBytes()));
      } catch (java.io.IOException e) {
        System.out.print("failed " + e.getClass().getName());
      }
    } }`,
  );
});

after(async () => {
  const pid = controller?.processId;
  await controller?.shutdown().catch(() => undefined);
  controller?.dispose();
  if (pid !== undefined) await waitFor('the data plane to exit', () => !alive(pid) || undefined, { timeoutMs: 15_000 });
  await b?.close();
  if (runtimeDir) fs.rmSync(runtimeDir, { recursive: true, force: true });
});

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })),
  );
}

/** A clean environment: only what the programs need, and no proxy variables but the ones given. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? os.homedir(), ...extra };
}

function java(ep: ProxyEndpoints, mode: 'authenticator' | 'properties' | 'none', creds = ep.credentials!): Promise<string> {
  const props = mode === 'properties' ? [`-Djava.net.socks.username=${creds.username}`, `-Djava.net.socks.password=${creds.password}`] : [];
  const env = baseEnv(mode === 'authenticator' ? { PROBE_USER: creds.username, PROBE_PASSWORD: creds.password } : {});
  return run('java', ['-DsocksProxyHost=127.0.0.1', `-DsocksProxyPort=${ep.socksPort}`, ...props, javaSrc, url, mode], env).then((r) => (r.code === 0 ? r.stdout : `exit ${r.code}: ${r.stderr}`));
}

/** curl's own machine-readable figures: the CONNECT answer's code and the final response's, then the body. */
function curl(args: readonly string[], env: NodeJS.ProcessEnv = baseEnv()): Promise<{ code: number; connect: string; status: string; body: string }> {
  return run('curl', ['-sS', '--max-time', '20', '-o', '-', '-w', '\n%{http_connect} %{http_code}', ...args, url], env).then((r) => {
    const cut = r.stdout.lastIndexOf('\n');
    const [connect = '', status = ''] = r.stdout.slice(cut + 1).split(' ');
    return { code: r.code, connect, status, body: r.stdout.slice(0, cut) };
  });
}

test('with proxyAuth the tunnel makes fresh credentials; a JVM that sends them reaches the server behind the bastion, and one that does not is refused', async () => {
  controller = new TunnelController(dataPlane(), new SessionRegistry(recording), recording);
  const session = await controller.connect(spec());
  const ep = controller.endpoints!;
  const creds = ep.credentials;
  assert.ok(creds, 'the endpoints carry the credentials');
  assert.ok(creds.password.length >= 32);
  assert.deepEqual(session.socksCredentials, creds);
  assert.deepEqual(session.registryRoute(), { kind: 'socks', port: ep.socksPort, credentials: creds });

  // The JDK's SOCKS client answers RFC 1929 with what an Authenticator gives it.
  assert.match(await java(ep, 'authenticator'), /^ok 200 inventory says hello to /);
  // The properties the JDK is sometimes said to read are ignored: it sends user.name and no password.
  assert.equal(await java(ep, 'properties'), 'failed java.net.SocketException');
  assert.equal(await java(ep, 'none'), 'failed java.net.SocketException');
  assert.equal(await java(ep, 'authenticator', { ...creds, password: 'wrong' }), 'failed java.net.SocketException');

  // The same refusal at the protocol level: no credentials offered, and wrong ones.
  const none = await socksConnect(ep.socksPort, b!.cloudName, b!.cloudPort);
  none.socket.destroy();
  assert.equal(none.reply, 0xff, 'no acceptable method');
  const wrong = await socksConnect(ep.socksPort, b!.cloudName, b!.cloudPort, { ...creds, password: 'nope' });
  wrong.socket.destroy();
  assert.equal(wrong.reply, 0xfe, 'user/pass refused');
});

test('curl through the HTTP CONNECT listener: 407 without Basic credentials or with wrong ones, through with them', async () => {
  const ep = controller!.endpoints!;
  const creds = ep.credentials!;
  const proxy = ['-p', '-x', `http://127.0.0.1:${ep.httpPort}`];
  const without = await curl(proxy);
  assert.notEqual(without.code, 0);
  assert.equal(without.connect, '407');
  const wrong = await curl([...proxy, '--proxy-user', `${creds.username}:wrong`]);
  assert.notEqual(wrong.code, 0);
  assert.equal(wrong.connect, '407');
  const good = await curl([...proxy, '--proxy-user', `${creds.username}:${creds.password}`]);
  assert.deepEqual({ code: good.code, connect: good.connect, status: good.status }, { code: 0, connect: '200', status: '200' });
  assert.match(good.body, /^inventory says hello/);
});

test('the environment run sessions and the tunnel terminal get works as it is, for HTTP and SOCKS; without its credentials it does not', async () => {
  const ep = controller!.endpoints!;
  const env = proxyEnvironment(ep);
  // curl reads http_proxy for http:// URLs (absolute-form through the HTTP proxy; -p makes it CONNECT).
  for (const extra of [[], ['-p']]) {
    const r = await curl(extra, baseEnv(env));
    assert.deepEqual({ code: r.code, status: r.status }, { code: 0, status: '200' }, `curl ${extra.join(' ')}: ${r.body}`);
    assert.match(r.body, /^inventory says hello/);
  }
  // ALL_PROXY alone: SOCKS5 with the name resolved on the far side and the credentials from the URL.
  const socks = await curl([], baseEnv({ ALL_PROXY: env.ALL_PROXY! }));
  assert.equal(socks.code, 0, socks.body);
  assert.match(socks.body, /^inventory says hello/);
  const bare = proxyEnvironment({ ...ep, credentials: undefined });
  const refused = await curl([], baseEnv({ ALL_PROXY: bare.ALL_PROXY! }));
  assert.notEqual(refused.code, 0);
  const refusedHttp = await curl([], baseEnv({ http_proxy: bare.http_proxy! }));
  assert.equal(refusedHttp.status, '407');
});

test('a controller re-attaching after an extension-host restart gets the credentials back from the data plane; nothing logged them', async () => {
  const old = controller!;
  const before = old.endpoints!;
  const pid = old.processId;
  // The extension host goes away without stopping anything.
  old.dispose();
  controller = new TunnelController(dataPlane(), new SessionRegistry(recording), recording);
  await controller.reattach();
  assert.equal(controller.processId, pid, 'the same data plane');
  assert.equal(controller.state, 'on');
  const ep = controller.endpoints!;
  assert.deepEqual(ep.credentials, before.credentials);
  assert.match(await java(ep, 'authenticator'), /^ok 200 inventory says hello/);
  const r = await curl([], baseEnv(proxyEnvironment(ep)));
  assert.deepEqual({ code: r.code, status: r.status }, { code: 0, status: '200' }, r.body);

  const { username, password } = ep.credentials!;
  assert.ok(lines.some((l) => l.includes('proxy authentication on')), `the log says authentication is on:\n${lines.join('\n')}`);
  const logFiles = fs.readdirSync(runtimeDir).filter((f) => f.endsWith('.log'));
  assert.ok(logFiles.length > 0, 'the data plane wrote its log file');
  const fileText = logFiles.map((f) => fs.readFileSync(path.join(runtimeDir, f), 'utf8')).join('\n');
  assert.ok(fileText.includes('proxy handshake refused'), 'the data plane logged at debug level (the refusals above)');
  for (const secret of [password, username, encodeURIComponent(password)]) {
    assert.ok(!lines.some((l) => l.includes(secret)), 'no extension-side log line holds the credentials');
    assert.ok(!fileText.includes(secret), 'the data plane\'s log file does not hold the credentials');
  }
});
