import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Logger } from '../../../extension/core/log';
import { SessionRegistry } from '../../../extension/core/sessions/registry';
import type { DataPlaneOptions } from '../../../extension/core/tunnels/dataPlane';
import { registryPeers } from './support/registries';
import { injectProxy, JAVA_AGENT_ENV, JAVA_TUNNEL_ENV, proxyEnvironment, type ProxyEndpoints } from '../../../extension/core/tunnels/proxyEnv';
import { TunnelController } from '../../../extension/core/tunnels/tunnelController';
import type { TunnelSpec } from '../../../extension/core/tunnels/tunnelSession';
import { waitFor } from '../../support/wait';
import { alive, createBastion, type Bastion } from './support/bastion';
import { socksConnect } from './support/clients';
import { dataPlaneFromSource } from './support/dataPlane';

/**
 * Proxy authentication end to end against real peers: the data plane started by the controller with
 * `proxyAuth`, OpenSSH's sshd on a bastion, a server behind it that only the bastion reaches, real
 * JVMs (with Devlane's Java agent, built from agent/ by the build's own function) and curl as
 * clients, and a second controller re-attaching as a restarted extension host does.
 */

/** The JVMs the agent must work in: the machine's JDK 17 and Temurin 25 (Java 11 bytecode, so 11–25). */
const JDKS = [
  { name: 'JDK 17', java: 'java' },
  { name: 'Temurin 25', java: '/usr/lib/jvm/temurin-25-jdk-amd64/bin/java' },
];

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
let agentDir = '';
let agentJar = '';
let agentProbe = '';
let nettyJar = '';
/** A loopback HTTP server that wants Basic credentials of its own: the program's Authenticator must answer it. */
let appServer: http.Server | undefined;
let appUrl = '';

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

before(async () => {
  agentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-java-agent-'));
  agentJar = path.join(agentDir, 'devlane-agent.jar');
  nettyJar = registryPeers().netty;
  const { buildAgentJar } = await import('../../../scripts/build.mjs');
  assert.equal(buildAgentJar(agentJar), true);
  // What a Java developer's program does: plain java.net through the JVM-wide SOCKS properties.
  //   http URL                  HttpURLConnection, the name resolved by the proxy
  //   socket HOST PORT          java.net.Socket to an unresolved address, an HTTP/1.0 request by hand
  //   own URL APPURL            installs its own Authenticator (as programs do in main, after the
  //                             agent ran), then both the tunnel URL and its own Basic-auth server
  //   dns HOST                  InetAddress.getByName, as Kafka, gRPC and JDBC failover lists do
  //   resolved HOST PORT        new Socket(host, port): the name looked up first, then connected
  //   httpclient URL            java.net.http.HttpClient (NIO channels, which ignore SOCKS settings)
  //   nio HOST PORT             a non-blocking SocketChannel with a Selector, as Netty does
  // Each prints one line; "default=" names the Authenticator the JVM ends up with.
  agentProbe = path.join(agentDir, 'AgentProbe.java');
  fs.writeFileSync(
    agentProbe,
    `import java.net.*;
    import java.util.*;
    public class AgentProbe {
      static String get(String u) {
        try {
          var c = (HttpURLConnection) URI.create(u).toURL().openConnection();
          c.setConnectTimeout(20000);
          c.setReadTimeout(20000);
          int code = c.getResponseCode();
          return "ok " + code + " " + new String((code < 400 ? c.getInputStream() : c.getErrorStream()).readAllBytes()).trim();
        } catch (java.io.IOException e) {
          return "failed " + e.getClass().getName();
        }
      }
      /** An HTTP/1.0 GET by hand on a connected socket: "ok", the status line and the body. */
      static String http10(Socket s, String host) throws java.io.IOException {
        s.setSoTimeout(20000);
        s.getOutputStream().write(("GET / HTTP/1.0\\r\\nHost: " + host + "\\r\\n\\r\\n").getBytes());
        return summary(new String(s.getInputStream().readAllBytes()));
      }
      static String summary(String r) {
        return "ok " + r.substring(0, r.indexOf("\\r\\n")) + " " + r.substring(r.indexOf("\\r\\n\\r\\n") + 4).trim();
      }
      public static void main(String[] a) throws Exception {
        String out;
        if (a[0].equals("socket")) {
          try (Socket s = new Socket()) {
            s.connect(InetSocketAddress.createUnresolved(a[1], Integer.parseInt(a[2])), 20000);
            out = http10(s, a[1]);
          } catch (java.io.IOException e) {
            out = "failed " + e.getClass().getName();
          }
        } else if (a[0].equals("dns")) {
          try {
            out = InetAddress.getByName(a[1]).getHostAddress();
          } catch (java.io.IOException e) {
            out = "failed " + e.getClass().getName();
          }
        } else if (a[0].equals("resolved")) {
          try (Socket s = new Socket(a[1], Integer.parseInt(a[2]))) {
            out = http10(s, a[1]);
          } catch (java.io.IOException e) {
            out = "failed " + e.getClass().getName();
          }
        } else if (a[0].equals("httpclient")) {
          try {
            var client = java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(20)).build();
            var r = client.send(java.net.http.HttpRequest.newBuilder(URI.create(a[1])).timeout(java.time.Duration.ofSeconds(20)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            out = "ok " + r.statusCode() + " " + r.body().trim();
          } catch (java.io.IOException e) {
            out = "failed " + e.getClass().getName();
          }
        } else if (a[0].equals("nio")) {
          try (var ch = java.nio.channels.SocketChannel.open(); var sel = java.nio.channels.Selector.open()) {
            ch.configureBlocking(false);
            ch.connect(new InetSocketAddress(a[1], Integer.parseInt(a[2])));
            ch.register(sel, java.nio.channels.SelectionKey.OP_CONNECT);
            if (sel.select(20000) == 0) throw new java.net.SocketTimeoutException("connect");
            ch.finishConnect();
            ch.write(java.nio.ByteBuffer.wrap(("GET / HTTP/1.0\\r\\nHost: " + a[1] + "\\r\\n\\r\\n").getBytes()));
            var got = new java.io.ByteArrayOutputStream();
            var buf = java.nio.ByteBuffer.allocate(8192);
            sel.selectedKeys().clear();
            ch.register(sel, java.nio.channels.SelectionKey.OP_READ);
            for (;;) {
              if (sel.select(20000) == 0) throw new java.net.SocketTimeoutException("read");
              sel.selectedKeys().clear();
              buf.clear();
              int n = ch.read(buf);
              if (n < 0) break;
              got.write(buf.array(), 0, n);
            }
            out = summary(got.toString());
          } catch (java.io.IOException | RuntimeException e) {
            out = "failed " + e.getClass().getName();
          }
        } else if (a[0].equals("own")) {
          List<String> asked = Collections.synchronizedList(new ArrayList<>());
          Authenticator.setDefault(new Authenticator() {
            protected PasswordAuthentication getPasswordAuthentication() {
              asked.add(getRequestingProtocol() + ":" + getRequestingScheme());
              return new PasswordAuthentication("app-user", "app-pass".toCharArray());
            }
          });
          out = get(a[1]) + " | " + get(a[2]) + " | asked " + asked;
        } else {
          out = get(a[1]);
        }
        Authenticator d = Authenticator.getDefault();
        System.out.print(out + " | default=" + (d == null ? "none" : d.getClass().getName()));
      }
    }`,
  );
  const expected = `Basic ${Buffer.from('app-user:app-pass').toString('base64')}`;
  appServer = http.createServer((req, res) => {
    if (req.headers.authorization === expected) res.end('app says hello');
    else res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="app"' }).end('who are you');
  });
  await new Promise<void>((resolve) => appServer!.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}/`;
});

after(async () => {
  await new Promise((resolve) => (appServer ? appServer.close(resolve) : resolve(undefined)));
  if (agentDir) fs.rmSync(agentDir, { recursive: true, force: true });
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

/**
 * Runs AgentProbe exactly as a Java run/debug configuration is started with the tunnel on: the
 * vmArgs and env injectProxy gives a `java` configuration (the user's env here: PATH and HOME).
 */
function javaAsInjected(java: string, ep: ProxyEndpoints, args: readonly string[], tweak: (env: Record<string, string>) => void = () => undefined): Promise<{ code: number; stdout: string; stderr: string }> {
  return runInjected(java, ep, [agentProbe, ...args], tweak);
}

/** Any program (`-jar …`, after JVM options of its own) with the vmArgs and env injectProxy gives. */
function runInjected(java: string, ep: ProxyEndpoints, program: readonly string[], tweak: (env: Record<string, string>) => void = () => undefined): Promise<{ code: number; stdout: string; stderr: string }> {
  const cfg = injectProxy({ type: 'java', name: 'probe', request: 'launch', vmArgs: [], env: {} }, ep, agentJar);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(cfg.env ?? {})) if (typeof v === 'string') env[k] = v;
  tweak(env);
  return run(java, [...(cfg.vmArgs as string[]), ...program], baseEnv(env));
}

for (const jdk of JDKS) {
  test(`${jdk.name} with the injected agent reaches the server behind the bastion through the authenticating tunnel (HttpURLConnection and a Socket to an unresolved name); nothing secret is printed`, async () => {
    const ep = controller!.endpoints!;
    const { username, password } = ep.credentials!;
    const cfg = injectProxy({ type: 'java', vmArgs: [] }, ep, agentJar);
    assert.ok((cfg.vmArgs as string[]).includes(`-javaagent:${agentJar}`));
    assert.ok(cfg.env?.[JAVA_AGENT_ENV], 'the credentials travel in the environment');

    const viaUrl = await javaAsInjected(jdk.java, ep, ['http', url]);
    assert.equal(viaUrl.code, 0, viaUrl.stderr);
    assert.match(viaUrl.stdout, /^ok 200 inventory says hello to .* \| default=dev\.devlane\.agent\.SocksAuthenticator$/);
    const viaSocket = await javaAsInjected(jdk.java, ep, ['socket', b!.cloudName, String(b!.cloudPort)]);
    assert.equal(viaSocket.code, 0, viaSocket.stderr);
    assert.match(viaSocket.stdout, /^ok HTTP\/1\.[01] 200 [A-Za-z ]*inventory says hello to /);
    for (const r of [viaUrl, viaSocket]) {
      for (const secret of [password, username]) assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'the agent prints nothing secret');
      // Nothing at all on stderr: no complaint from the agent, and no JVM warning (the patch needs no boot class path).
      assert.equal(r.stderr, '');
    }
  });

  test(`${jdk.name}: a program that installs its own Authenticator keeps its own answers, and the tunnel keeps working`, async () => {
    const ep = controller!.endpoints!;
    const r = await javaAsInjected(jdk.java, ep, ['own', url, appUrl]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    // The program's Authenticator answered its server's Basic challenge and was asked for nothing
    // else: the tunnel's SOCKS request was the agent's. Authenticator.getDefault() is the agent's wrapper around it.
    assert.match(r.stdout, /^ok 200 inventory says hello to .* \| ok 200 app says hello \| asked \[http:basic\] \| default=dev\.devlane\.agent\.SocksAuthenticator$/);
  });

  test(`${jdk.name}: with the injected agent, cluster names get stand-in addresses and NIO reaches them through the authenticating tunnel (HttpClient, a Selector), a looked-up name works with a Socket too; other names are left alone`, async () => {
    const ep = controller!.endpoints!;
    const host = b!.cloudName;
    const port = String(b!.cloudPort);
    const dns = await javaAsInjected(jdk.java, ep, ['dns', host]);
    assert.match(dns.stdout, /^198\.(18|19)\.\d+\.\d+ \| /, dns.stderr);
    const local = await javaAsInjected(jdk.java, ep, ['dns', 'localhost']);
    assert.match(local.stdout, /^127\.0\.0\.1 \| /);
    const elsewhere = await javaAsInjected(jdk.java, ep, ['dns', 'no-such-host.invalid']);
    assert.match(elsewhere.stdout, /^failed java\.net\.UnknownHostException/, 'a name outside the cluster domains is looked up as before');
    const resolved = await javaAsInjected(jdk.java, ep, ['resolved', host, port]);
    assert.match(resolved.stdout, /^ok HTTP\/1\.[01] 200 [A-Za-z ]*inventory says hello to /, resolved.stderr);
    const viaHttpClient = await javaAsInjected(jdk.java, ep, ['httpclient', url]);
    assert.match(viaHttpClient.stdout, /^ok 200 inventory says hello to /, viaHttpClient.stderr);
    const viaSelector = await javaAsInjected(jdk.java, ep, ['nio', host, port]);
    assert.match(viaSelector.stdout, /^ok HTTP\/1\.[01] 200 [A-Za-z ]*inventory says hello to /, viaSelector.stderr);
    for (const r of [dns, local, elsewhere, resolved, viaHttpClient, viaSelector]) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'the agent patched the JDK without a complaint');
    }
    // Only names under the domains the agent is given: with another cluster domain this name is looked up as before.
    const otherDomain = await javaAsInjected(jdk.java, ep, ['dns', host], (env) => (env[JAVA_TUNNEL_ENV] = env[JAVA_TUNNEL_ENV]!.replace(/domains=[^&]*/, 'domains=cluster.internal')));
    assert.match(otherDomain.stdout, /^failed java\.net\.UnknownHostException/);
    // Without the agent's tunnel variable none of this works: the name is unknown and NIO goes nowhere.
    const without = (args: string[]) => javaAsInjected(jdk.java, ep, args, (env) => delete env[JAVA_TUNNEL_ENV]);
    assert.match((await without(['dns', host])).stdout, /^failed java\.net\.UnknownHostException/);
    assert.match((await without(['httpclient', url])).stdout, /^failed java\.net\.ConnectException/);
  });

  test(`${jdk.name}: a real Netty client (NIO transport, its default resolver) reaches the cluster name through the authenticating tunnel with the injected agent, and not without it`, async () => {
    const withAgent = await runInjected(jdk.java, controller!.endpoints!, ['-jar', nettyJar, url]);
    assert.equal(withAgent.code, 0, withAgent.stderr);
    assert.match(withAgent.stdout, /^ok 200 inventory says hello to /, withAgent.stderr);
    assert.ok(!withAgent.stderr.includes('[devlane-agent]'), withAgent.stderr);
    const without = await run(jdk.java, ['-jar', nettyJar, url], baseEnv());
    assert.match(without.stdout, /^failed /, 'without the agent Netty cannot even resolve the name');
  });

  test(`${jdk.name}: Reactor Netty's HttpClient (Spring WebClient's engine: Netty's own DNS resolver, epoll on Linux) reaches the cluster name through the tunnel with the injected agent, and not without it`, async () => {
    const ep = controller!.endpoints!;
    const withAgent = await runInjected(jdk.java, ep, ['-jar', nettyJar, url, 'reactor']);
    assert.equal(withAgent.code, 0, withAgent.stderr);
    // The agent turned the native transport off, so the connection went through NIO, which it routes.
    assert.match(withAgent.stdout, /^ok 200 inventory says hello to .* \| epoll=false$/, withAgent.stderr);
    assert.ok(!withAgent.stderr.includes('[devlane-agent]'), withAgent.stderr);
    // Without the agent: epoll is there to be used, and Netty's resolver asks the machine's DNS, which knows no cluster names.
    const without = await run(jdk.java, ['-jar', nettyJar, url, 'reactor'], baseEnv());
    assert.equal(without.stdout, 'failed java.net.UnknownHostException | epoll=true');
    // A program that chose its transport keeps it: the agent leaves the property as set (a local
    // address that refuses at once: epoll connections to the cluster are beyond the agent's reach).
    const chosen = await runInjected(jdk.java, ep, ['-Dio.netty.transport.noNative=false', '-jar', nettyJar, 'http://127.0.0.1:1/', 'reactor']);
    assert.match(chosen.stdout, /^failed .* \| epoll=true$/, chosen.stderr);
  });

  test(`${jdk.name}: without ${JAVA_AGENT_ENV} the agent installs no credentials and the tunnel refuses the JVM; a malformed value is refused without being printed`, async () => {
    const ep = controller!.endpoints!;
    const inert = await javaAsInjected(jdk.java, ep, ['http', url], (env) => delete env[JAVA_AGENT_ENV]);
    assert.equal(inert.code, 0, inert.stderr);
    assert.equal(inert.stdout, 'failed java.net.SocketException | default=none');
    assert.ok(!inert.stderr.includes('devlane-agent'), inert.stderr);
    const wrong = await javaAsInjected(jdk.java, ep, ['http', url], (env) => (env[JAVA_AGENT_ENV] = env[JAVA_AGENT_ENV]!.replace(/password=[^&]*/, 'password=wrong')));
    assert.equal(wrong.stdout, 'failed java.net.SocketException | default=dev.devlane.agent.SocksAuthenticator');
    const bad = await javaAsInjected(jdk.java, ep, ['http', url], (env) => (env[JAVA_AGENT_ENV] = `password=${ep.credentials!.password}`));
    assert.equal(bad.stdout, 'failed java.net.SocketException | default=none');
    assert.ok(bad.stderr.includes(`[devlane-agent] ${JAVA_AGENT_ENV} is not in the expected form`), bad.stderr);
    assert.ok(!bad.stderr.includes(ep.credentials!.password));
  });
}

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
