import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { StartTunnelParams, TunnelStateEvent } from '../../../dataplane/ipc/protocol';
import { knownHostsLine } from '../../../dataplane/ssh/knownHosts';
import type { SshHop } from '../../../dataplane/ssh/sshConfig';
import { DevlaneError } from '../../../extension/core/errors';
import { injectProxy } from '../../../extension/core/tunnels/proxyEnv';
import { waitFor } from '../../support/wait';
import { createBastion, type Bastion } from './support/bastion';
import { connectProxyGet, socksConnect, socksGet } from './support/clients';
import { startDataPlane, type Answers, type TestDataPlane } from './support/dataPlane';

let b: Bastion;

before(async () => {
  b = await createBastion();
  await b.startSshd();
});

after(async () => {
  await b?.close();
});

function hop(extra: Partial<SshHop> = {}): SshHop {
  return { alias: 'bastion', hostName: b.bastionIp, port: 22, user: 'root', identityFiles: [b.userKey], identitiesOnly: true, ...extra };
}

function knownHosts(content: string): string {
  const f = path.join(b.dir, `known_hosts_${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(f, content);
  return f;
}

function params(extra: Partial<StartTunnelParams> = {}): StartTunnelParams {
  return { id: 't1', hops: [hop()], knownHostsFiles: [knownHosts(`${b.knownHostsLine}\n`)], socks: { port: 0 }, http: { port: 0 }, probeIntervalMs: 1_000, ...extra };
}

async function withDataPlane(answers: Answers, fn: (dp: TestDataPlane) => Promise<void>): Promise<void> {
  const dp = startDataPlane(answers);
  try {
    await fn(dp);
  } finally {
    await dp.close();
  }
}

async function rejectsWith(p: Promise<unknown>, reason: string): Promise<DevlaneError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DevlaneError, `expected a DevlaneError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`expected a ${reason} failure`);
}

test('SOCKS and HTTP CONNECT reach a server only the bastion can reach, by a name only it can resolve', async () => {
  await withDataPlane({}, async (dp) => {
    const info = await dp.client.request('tunnel.start', params());
    assert.equal(info.state.state, 'on');
    const viaSocks = await socksGet(info.socksPort, b.cloudName, b.cloudPort);
    assert.match(viaSocks, /^HTTP\/1\.1 200/);
    assert.match(viaSocks, /inventory says hello/);
    const viaIp = await socksGet(info.socksPort, b.cloudIp, b.cloudPort);
    assert.match(viaIp, /inventory says hello/);
    const viaConnect = await connectProxyGet(info.httpPort!, b.cloudName, b.cloudPort);
    assert.match(viaConnect.status, / 200 /);
    assert.match(viaConnect.body ?? '', /inventory says hello/);
    // A refused port on the far side is a SOCKS "connection refused", not a hang.
    const refused = await socksConnect(info.socksPort, b.cloudIp, 9);
    refused.socket.destroy();
    assert.equal(refused.reply, 5);
    const conns = await dp.client.request('tunnel.connections', { id: 't1' });
    assert.ok(conns.recent.some((c) => c.target === `${b.cloudName}:${b.cloudPort}` && c.bytesDown > 0 && c.protocol === 'socks5'));
    assert.ok(conns.recent.some((c) => c.protocol === 'http'));
  });
});

test('a Java client with -DsocksProxyHost reaches the far-side name', async () => {
  await withDataPlane({}, async (dp) => {
    const info = await dp.client.request('tunnel.start', params());
    const src = path.join(b.dir, 'Fetch.java');
    fs.writeFileSync(
      src,
      `public class Fetch { public static void main(String[] a) throws Exception {
        var c = (java.net.HttpURLConnection) new java.net.URL(a[0]).openConnection();
        System.out.print(new String(c.getInputStream().readAllBytes()));
      } }`,
    );
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('java', [`-DsocksProxyHost=127.0.0.1`, `-DsocksProxyPort=${info.socksPort}`, src, `http://${b.cloudName}:${b.cloudPort}/`], { encoding: 'utf8', timeout: 120_000 });
    assert.match(out, /inventory says hello/);
  });
});

test('a JVM started as Devlane starts it (the agent, no proxy authentication): HttpClient and a SocketChannel reach the far-side name, half-close included; the JVM\'s loopback forward turns away other processes', async () => {
  const { buildAgentJar } = await import('../../../scripts/build.mjs');
  const jar = path.join(b.dir, 'devlane-agent.jar');
  assert.equal(buildAgentJar(jar), true);
  await withDataPlane({}, async (dp) => {
    const info = await dp.client.request('tunnel.start', params());
    const src = path.join(b.dir, 'Nio.java');
    fs.writeFileSync(
      src,
      `import java.net.*;
      import java.nio.ByteBuffer;
      import java.nio.channels.SocketChannel;
      public class Nio { public static void main(String[] a) throws Exception {
        var r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(URI.create(a[0])).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        System.out.println("httpclient " + r.statusCode() + " " + r.body().trim());
        try (var ch = SocketChannel.open(new InetSocketAddress(a[1], Integer.parseInt(a[2])))) {
          System.out.println("forward " + ((InetSocketAddress) ch.getRemoteAddress()).getPort());
          System.out.flush();
          new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();
          // Half-close: the request goes, the sending side is shut, and the echo still comes back.
          ch.write(ByteBuffer.wrap("ping through the forward".getBytes()));
          ch.shutdownOutput();
          var got = new java.io.ByteArrayOutputStream();
          var buf = ByteBuffer.allocate(8192);
          for (int n; (n = ch.read(buf.clear())) >= 0; ) got.write(buf.array(), 0, n);
          System.out.println("channel echoed [" + got + "]");
        }
      } }`,
    );
    const cfg = injectProxy({ type: 'java', vmArgs: [] }, { socksPort: info.socksPort }, jar);
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
    for (const [k, v] of Object.entries(cfg.env ?? {})) if (typeof v === 'string') env[k] = v;
    const java = spawn('java', [...(cfg.vmArgs as string[]), src, `http://${b.cloudName}:${b.cloudPort}/`, b.cloudName, String(b.echoPort)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    java.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    java.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => java.once('exit', resolve));
    try {
      const port = Number(await waitFor('the JVM to hold a channel', () => /forward (\d+)/.exec(stdout)?.[1], { timeoutMs: 60_000, intervalMs: 50 }));
      assert.match(stdout, /^httpclient 200 inventory says hello to /);
      // Another process on the machine connects to the same loopback port: closed at once, nothing relayed.
      const foreign = net.connect(port, '127.0.0.1');
      let relayed = 0;
      foreign.on('data', (d: Buffer) => (relayed += d.length));
      foreign.on('error', () => undefined);
      foreign.on('connect', () => foreign.write('GET / HTTP/1.0\r\n\r\n'));
      await new Promise<void>((resolve) => foreign.once('close', () => resolve()));
      assert.equal(relayed, 0, 'the forward carried nothing for another process');
      java.stdin.end('go\n');
      assert.equal(await exited, 0, stderr);
      assert.match(stdout, /channel echoed \[ping through the forward\]/);
      assert.equal(stderr, '');
    } finally {
      java.kill();
    }
  });
});

test('reverse forward: a port on the bastion reaches a local HTTP server', async () => {
  const local = http.createServer((_req, res) => res.end('local app here'));
  await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
  try {
    await withDataPlane({}, async (dp) => {
      await dp.client.request('tunnel.start', params());
      const f = await dp.client.request('tunnel.addReverseForward', { id: 't1', bindAddress: '127.0.0.1', bindPort: 0, localHost: '127.0.0.1', localPort: (local.address() as AddressInfo).port });
      assert.ok(f.bindPort > 0);
      const out = await b.execInBastion(['curl', '-sf', '--max-time', '20', `http://127.0.0.1:${f.bindPort}/`]);
      assert.equal(out, 'local app here');
    });
  } finally {
    local.close();
  }
});

test('host keys: unknown asks with the SHA256 fingerprint (TOFU) and is recorded; hashed entries match', async () => {
  const fileA = knownHosts('');
  await withDataPlane({ hostKey: () => true }, async (dp) => {
    await dp.client.request('tunnel.start', params({ knownHostsFiles: [fileA] }));
    assert.equal(dp.questions.hostKey.length, 1);
    const { createHash } = await import('node:crypto');
    const expected = `SHA256:${createHash('sha256').update(b.hostKeyBlob).digest('base64').replace(/=+$/, '')}`;
    assert.equal(dp.questions.hostKey[0]!.fingerprint, expected);
    assert.ok(fs.readFileSync(fileA, 'utf8').includes(b.hostKeyBlob.toString('base64')));
  });
  // The recorded key is now known: no question the second time.
  const hashedFile = knownHosts(`${knownHostsLine(b.bastionIp, 22, b.hostKeyBlob, true)}\n`);
  assert.ok(fs.readFileSync(hashedFile, 'utf8').startsWith('|1|'));
  for (const file of [fileA, hashedFile]) {
    await withDataPlane({ hostKey: () => true }, async (dp) => {
      const info = await dp.client.request('tunnel.start', params({ knownHostsFiles: [file] }));
      assert.equal(info.state.state, 'on');
      assert.equal(dp.questions.hostKey.length, 0);
    });
  }
});

test('host keys: a declined unknown key and a changed key are refused with clear errors', async () => {
  await withDataPlane({ hostKey: () => false }, async (dp) => {
    const e = await rejectsWith(dp.client.request('tunnel.start', params({ knownHostsFiles: [knownHosts('')] })), 'ssh-host-key-unknown');
    assert.match(e.message, /SHA256:/);
    const other = fs.readFileSync(`${b.userKey}.pub`, 'utf8').trim().split(/\s+/);
    const changed = await rejectsWith(dp.client.request('tunnel.start', params({ knownHostsFiles: [knownHosts(`${b.bastionIp} ${other[0]} ${other[1]}\n`)] })), 'ssh-host-key-changed');
    assert.match(changed.message, /CHANGED/);
    // Nothing was left listening for the failed tunnels.
    const hello = await dp.client.request('hello', { version: 1 });
    assert.equal(hello.tunnels.length, 0);
  });
});

test('auth: password, passphrase-protected key, ssh-agent; a wrong password is a clear ssh-auth error', async () => {
  await withDataPlane({ secret: (q) => (q.kind === 'password' ? b.password : undefined) }, async (dp) => {
    const info = await dp.client.request('tunnel.start', params({ hops: [hop({ identityFiles: [] })] }));
    assert.equal(info.state.state, 'on');
    assert.deepEqual(
      dp.questions.secret.map((q) => [q.kind, q.account]),
      [['password', `root@${b.bastionIp}:22`]],
    );
  });
  await withDataPlane({ secret: (q) => (q.kind === 'passphrase' ? b.passphrase : undefined) }, async (dp) => {
    const info = await dp.client.request('tunnel.start', params({ hops: [hop({ identityFiles: [b.encryptedKey] })] }));
    assert.equal(info.state.state, 'on');
    assert.equal(dp.questions.secret[0]?.kind, 'passphrase');
  });
  await withDataPlane({ secret: () => 'not-the-password' }, async (dp) => {
    const e = await rejectsWith(dp.client.request('tunnel.start', params({ hops: [hop({ identityFiles: [] })] })), 'ssh-auth');
    assert.match(e.message, /refused the login/);
  });
  const { spawn, execFileSync } = await import('node:child_process');
  const sock = path.join(b.dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  try {
    await waitFor('ssh-agent socket', () => fs.existsSync(sock) || undefined);
    execFileSync('ssh-add', [b.userKey], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    await withDataPlane({}, async (dp) => {
      const info = await dp.client.request('tunnel.start', params({ agentSocket: sock, hops: [hop({ identityFiles: [], identitiesOnly: false })] }));
      assert.equal(info.state.state, 'on');
      assert.equal(dp.questions.secret.length, 0);
    });
  } finally {
    if (agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent.once('exit', r));
      agent.kill();
      await exited;
    }
  }
});

test('an unreachable bastion and a taken SOCKS port fail clearly and leave nothing running', async () => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  try {
    await withDataPlane({}, async (dp) => {
      const e = await rejectsWith(dp.client.request('tunnel.start', params({ hops: [hop({ port: 2 })] })), 'ssh-unreachable');
      assert.match(e.message, /Could not reach/);
      const p = await rejectsWith(dp.client.request('tunnel.start', params({ socks: { port: (taken.address() as AddressInfo).port } })), 'port-in-use');
      assert.match(p.message, /already in use/);
      assert.equal((await dp.client.request('hello', { version: 1 })).tunnels.length, 0);
    });
  } finally {
    taken.close();
  }
});

test('sshd restarted mid-session: degraded, then reconnected with working new connections', async (t) => {
  await withDataPlane({}, async (dp) => {
    const states: TunnelStateEvent[] = [];
    dp.client.onEvent((e) => {
      if (e.name === 'tunnel.state') states.push(e.data);
    });
    const info = await dp.client.request('tunnel.start', params());
    assert.match(await socksGet(info.socksPort, b.cloudName, b.cloudPort), /inventory/);
    await b.stopSshd();
    await waitFor('a degraded state', () => states.some((s) => s.state === 'degraded') || undefined, { timeoutMs: 60_000 });
    const back = Date.now();
    await b.startSshd();
    const degradedAt = states.findIndex((s) => s.state === 'degraded');
    await waitFor('the tunnel to be on again', () => states.slice(degradedAt).some((s) => s.state === 'on') || undefined, { timeoutMs: 60_000 });
    t.diagnostic(`reconnected ${Date.now() - back} ms after sshd was back`);
    assert.match(await socksGet(info.socksPort, b.cloudName, b.cloudPort), /inventory/);
  });
});

test('network cut (veth down): degraded, and on again when the link returns', async (t) => {
  await withDataPlane({}, async (dp) => {
    const states: TunnelStateEvent[] = [];
    dp.client.onEvent((e) => {
      if (e.name === 'tunnel.state') states.push(e.data);
    });
    const info = await dp.client.request('tunnel.start', params({ degradedAfterMs: 3_000 }));
    const cut = Date.now();
    b.setLink(false);
    try {
      await waitFor('a degraded state', () => states.some((s) => s.state === 'degraded') || undefined, { timeoutMs: 45_000 });
      t.diagnostic(`degraded ${Date.now() - cut} ms after the cut`);
    } finally {
      b.setLink(true);
    }
    const degradedAt = states.findIndex((s) => s.state === 'degraded');
    await waitFor('the tunnel to be on again', () => states.slice(degradedAt).some((s) => s.state === 'on') || undefined, { timeoutMs: 90_000 });
    assert.match(await socksGet(info.socksPort, b.cloudName, b.cloudPort), /inventory/);
  });
});

test('the data plane outlives its controller for the grace period, re-attaches, and exits without one', async () => {
  const dp = startDataPlane({}, { graceMs: 10_000 });
  try {
    const info = await dp.client.request('tunnel.start', params());
    const pid = dp.client.pid!;
    // The extension host goes away (no shutdown): a new controller re-attaches to the same process.
    dp.client.dispose();
    const again = startDataPlane({}, { graceMs: 10_000, runtimeDir: dp.runtimeDir });
    const hello = await again.client.connect();
    assert.equal(hello.pid, pid);
    assert.deepEqual(hello.tunnels.map((t) => t.socksPort), [info.socksPort]);
    assert.match(await socksGet(info.socksPort, b.cloudName, b.cloudPort), /inventory/);
    again.client.dispose();
    const { alive } = await import('./support/bastion');
    await waitFor('the orphaned data plane to exit after its grace period', () => !alive(pid) || undefined, { timeoutMs: 60_000 });
    assert.equal(fs.existsSync(again.client.socketPath), false);
  } finally {
    await dp.close();
  }
});
