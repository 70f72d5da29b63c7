import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { consoleLogger, silentLogger } from '../../../extension/core/log';
import { SessionRegistry } from '../../../extension/core/sessions/registry';
import { OutageWatch, tunnelSnapshot, type TunnelAlert } from '../../../extension/core/tunnels/outageWatch';
import { TunnelController } from '../../../extension/core/tunnels/tunnelController';
import { waitFor } from '../../support/wait';
import { alive, createBastion, type Bastion } from './support/bastion';
import { socksGet } from './support/clients';
import { dataPlaneFromSource } from './support/dataPlane';

let b: Bastion;

before(async () => {
  b = await createBastion();
  await b.startSshd();
});

after(async () => {
  await b?.close();
});

test('the controller connects through a ProxyJump chain from an SSH config, registers the session, and cleans up', async () => {
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-ctl-'));
  const sshConfig = path.join(b.dir, 'ssh_config');
  // The bastion jumps to itself: two real SSH hops through one sshd.
  fs.writeFileSync(sshConfig, `Host jump\n  HostName ${b.bastionIp}\n  User root\n  IdentityFile ${b.userKey}\n\nHost inner\n  HostName ${b.bastionIp}\n  User root\n  IdentityFile ${b.userKey}\n  ProxyJump jump\n`);
  const kh = path.join(b.dir, 'known_hosts_ctl');
  fs.writeFileSync(kh, `${b.knownHostsLine}\n`);
  const registry = new SessionRegistry(silentLogger);
  const controller = new TunnelController(
    {
      command: dataPlaneFromSource(),
      runtimeDir,
      instance: 'controller-test',
      graceMs: 5_000,
      startTimeoutMs: 60_000,
      log: consoleLogger('warn', 'controller-test'),
      answers: { hostKey: async () => false, secret: async () => undefined },
    },
    registry,
    silentLogger,
  );
  let pid: number | undefined;
  try {
    const states: string[] = [];
    controller.onDidChange(() => states.push(controller.state));
    const session = await controller.connect({ destination: 'inner', sshConfigFile: sshConfig, knownHostsFiles: [kh], socksPort: 0, httpPort: 0 });
    assert.equal(controller.state, 'on');
    assert.ok(states.includes('connecting'));
    assert.deepEqual(registry.list('tunnel').map((s) => s.id), [session.id]);
    assert.equal(session.status.state, 'running');
    assert.equal(session.target, `root@${b.bastionIp}:22`);
    const ep = controller.endpoints!;
    assert.match(await socksGet(ep.socksPort, b.cloudName, b.cloudPort), /inventory says hello/);
    await waitFor('the connection totals to arrive', () => (session.totals.opened >= 1 && session.totals.bytesDown > 0) || undefined, { timeoutMs: 15_000 });
    pid = controller.processId;
    assert.ok(pid !== undefined && alive(pid));
    await controller.disconnect();
    assert.equal(controller.state, 'off');
    assert.equal(registry.list().length, 0);
    assert.equal(controller.endpoints, undefined);
    // One tunnel per controller: with it off, the data-plane process has no reason to run.
    const ended = pid;
    await waitFor('the data plane to exit after disconnect', () => !alive(ended) || undefined, { timeoutMs: 15_000 });
    assert.equal(controller.processId, undefined);
  } finally {
    pid ??= controller.processId;
    await controller.shutdown();
    controller.dispose();
    if (pid !== undefined) await waitFor('the data plane to exit', () => !alive(pid!) || undefined, { timeoutMs: 15_000 });
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  }
  assert.ok(pid !== undefined);
});

test('a refused login leaves no data-plane process running', async () => {
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-ctl-'));
  const kh = path.join(b.dir, 'known_hosts_refused');
  fs.writeFileSync(kh, `${b.knownHostsLine}\n`);
  const registry = new SessionRegistry(silentLogger);
  let pid: number | undefined;
  const controller = new TunnelController(
    {
      command: dataPlaneFromSource(),
      runtimeDir,
      instance: 'controller-refused',
      graceMs: 60_000,
      startTimeoutMs: 60_000,
      log: consoleLogger('warn', 'controller-test'),
      answers: {
        hostKey: async () => false,
        secret: async () => {
          pid ??= controller.processId;
          return 'not-the-password';
        },
      },
    },
    registry,
    silentLogger,
  );
  try {
    await assert.rejects(controller.connect({ destination: `root@${b.bastionIp}`, sshConfigFile: path.join(b.dir, 'no-such-config'), knownHostsFiles: [kh], socksPort: 0 }), (e: { reason?: string }) => e.reason === 'ssh-auth');
    assert.equal(controller.state, 'error');
    assert.equal(controller.lastError?.reason, 'ssh-auth');
    assert.equal(registry.list().length, 0);
    // The grace period is a minute: the process ending now is the controller stopping it.
    assert.ok(pid !== undefined, 'the password was asked while the data plane ran');
    const started = pid;
    await waitFor('the data plane to exit after the refused login', () => !alive(started) || undefined, { timeoutMs: 15_000 });
  } finally {
    await controller.shutdown();
    controller.dispose();
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  }
});

test('a tunnel that was on: down past the alert delay and back when sshd returns are said once each; the tunnel service dying is a failure', async () => {
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-ctl-'));
  const kh = path.join(b.dir, 'known_hosts_outage');
  fs.writeFileSync(kh, `${b.knownHostsLine}\n`);
  const registry = new SessionRegistry(silentLogger);
  const controller = new TunnelController(
    { command: dataPlaneFromSource(), runtimeDir, instance: 'controller-outage', graceMs: 5_000, startTimeoutMs: 60_000, log: consoleLogger('warn', 'controller-test'), answers: { hostKey: async () => false, secret: async () => undefined } },
    registry,
    silentLogger,
  );
  const alerts: TunnelAlert[] = [];
  const watch = new OutageWatch(() => 300, (a) => alerts.push(a));
  const sub = controller.onDidChange(() => watch.update(tunnelSnapshot(controller)));
  let pid: number | undefined;
  try {
    const sshConfig = path.join(b.dir, 'ssh_config_outage');
    fs.writeFileSync(sshConfig, `Host bastion\n  HostName ${b.bastionIp}\n  User root\n  IdentityFile ${b.userKey}\n`);
    await controller.connect({ destination: 'bastion', sshConfigFile: sshConfig, knownHostsFiles: [kh], socksPort: 0 });
    pid = controller.processId;
    assert.equal(controller.state, 'on');
    await b.stopSshd();
    const down = await waitFor('the outage alert', () => alerts.find((a) => a.kind === 'down'), { timeoutMs: 30_000, intervalMs: 50 });
    assert.ok(down.kind === 'down' && down.forMs >= 300, JSON.stringify(down));
    assert.ok(down.detail, 'says what the reconnect meets');
    await b.startSshd();
    const back = await waitFor('the back alert', () => alerts.find((a) => a.kind === 'back'), { timeoutMs: 30_000, intervalMs: 50 });
    assert.ok(back.kind === 'back' && back.afterMs >= down.forMs);
    assert.deepEqual(alerts.map((a) => a.kind), ['down', 'back']);
    assert.match(await socksGet(controller.endpoints!.socksPort, b.cloudName, b.cloudPort), /inventory says hello/);

    // The tunnel service is killed: the tunnel cannot come back by itself.
    process.kill(pid!, 'SIGKILL');
    const failed = await waitFor('the failure alert', () => alerts.find((a) => a.kind === 'failed'), { timeoutMs: 30_000, intervalMs: 50 });
    assert.ok(failed.kind === 'failed' && failed.reason === 'tunnel-down', JSON.stringify(failed));
    assert.match(failed.message, /stopped unexpectedly/);
    assert.equal(alerts.length, 3);
  } finally {
    sub.dispose();
    watch.dispose();
    await controller.shutdown();
    controller.dispose();
    if (pid !== undefined) await waitFor('the data plane to exit', () => !alive(pid!) || undefined, { timeoutMs: 15_000 });
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  }
});
