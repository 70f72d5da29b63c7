import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../../../support/wait';

/**
 * A throw-away "bastion": a network namespace with one veth leg toward this machine (the laptop)
 * running a real OpenSSH sshd with its own config and keys, plus a "cloud" namespace reachable only
 * from the bastion, where an HTTP server answers as inventory.shop.svc.cluster.local (a name only the
 * bastion's /etc/hosts knows). Everything is removed by close(), which is safe to call twice.
 */
export interface Bastion {
  readonly dir: string;
  readonly ns: string;
  readonly cloudNs: string;
  readonly hostIp: string;
  readonly bastionIp: string;
  readonly cloudIp: string;
  readonly cloudName: string;
  readonly cloudPort: number;
  readonly echoPort: number;
  readonly password: string;
  /** Unencrypted and passphrase-protected client keys (OpenSSH format). */
  readonly userKey: string;
  readonly encryptedKey: string;
  readonly passphrase: string;
  /** The bastion's address on the cluster network, when it has a leg there. */
  readonly clusterIp?: string;
  /** `host keytype base64` line for the bastion's host key. */
  readonly knownHostsLine: string;
  readonly hostKeyBlob: Buffer;
  startSshd(): Promise<void>;
  /** sshd's GatewayPorts from the next startSshd() on (no: remote forwards listen on its loopback only). */
  setGatewayPorts(value: GatewayPorts): void;
  /** Ends sshd and every session process it forked (all live in our namespace). */
  stopSshd(): Promise<void>;
  /** Runs a command inside the bastion namespace and resolves with its stdout (async: the caller may be serving it). */
  execInBastion(args: readonly string[]): Promise<string>;
  setLink(up: boolean): void;
  close(): Promise<void>;
}

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function usedSubnets(): Set<number> {
  const used = new Set<number>();
  const links = JSON.parse(run('ip', ['-j', 'addr'])) as { addr_info?: { local?: string }[] }[];
  for (const l of links) for (const a of l.addr_info ?? []) if (a.local?.startsWith('10.213.')) used.add(Number(a.local.split('.')[2]));
  return used;
}

// The cloud side: HTTP on 8080 (`/bytes/N` streams N bytes, POST /sink answers how many it read)
// and a TCP echo server on 9000.
const CLOUD_SERVER = `
const http = require('node:http');
const net = require('node:net');
const chunk = Buffer.alloc(256 * 1024, 7);
http.createServer((req, res) => {
  if (req.url.startsWith('/bytes/')) {
    let left = Number(req.url.slice(7));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
    const pump = () => {
      while (left > 0) {
        const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= c.length;
        if (!res.write(c)) return res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  if (req.method === 'POST' && req.url === '/sink') {
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    return req.on('end', () => res.end(String(n)));
  }
  res.end('inventory says hello to ' + req.socket.remoteAddress);
}).listen(8080, process.argv[1]);
net.createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => {}); s.pipe(s); }).listen({ port: 9000, host: process.argv[1], backlog: 4096 });
`;

/** The test cluster's network (cluster/paths.ts `network`), for a bastion leg into it. */
export interface ClusterNetwork {
  readonly clusterNetns: string;
  readonly bridge: string;
  readonly gateway: string;
  readonly prefixLength: number;
  readonly serviceNetwork: string;
  readonly clusterDomain: string;
}

export type GatewayPorts = 'no' | 'yes' | 'clientspecified';

export async function createBastion(opts: { cluster?: ClusterNetwork; gatewayPorts?: GatewayPorts } = {}): Promise<Bastion> {
  const tag = crypto.randomBytes(3).toString('hex');
  const ns = `dlb-${tag}`;
  const cloudNs = `dlc-${tag}`;
  const used = usedSubnets();
  let n = 1 + crypto.randomInt(250);
  while (used.has(n)) n = 1 + crypto.randomInt(250);
  const hostIp = `10.213.${n}.1`;
  const bastionIp = `10.213.${n}.2`;
  const cloudGw = `10.214.${n}.1`;
  const cloudIp = `10.214.${n}.2`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-bastion-'));
  const etc = `/etc/netns/${ns}`;
  const children = new Set<ChildProcess>();
  let sshd: ChildProcess | undefined;
  let closed = false;
  const password = crypto.randomBytes(9).toString('hex');
  const passphrase = crypto.randomBytes(9).toString('hex');

  const close = async () => {
    if (closed) return;
    closed = true;
    await stopNs(ns);
    await stopNs(cloudNs);
    for (const c of children) c.kill('SIGKILL');
    for (const name of [ns, cloudNs]) {
      try {
        run('ip', ['netns', 'del', name]);
      } catch {
        // already gone
      }
    }
    try {
      run('ip', ['link', 'del', `dlh${tag}`]);
    } catch {
      // removed with the namespace
    }
    fs.rmSync(etc, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  };

  // Every process in our namespaces is one this helper started (sshd, its sessions, the cloud server).
  async function stopNs(name: string): Promise<void> {
    let pids: number[] = [];
    try {
      pids = run('ip', ['netns', 'pids', name]).split('\n').filter(Boolean).map(Number);
    } catch {
      return;
    }
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    await waitFor(`processes in ${name} to exit`, () => pids.every((p) => !alive(p)) || undefined, { timeoutMs: 10_000, intervalMs: 50 });
  }

  try {
    run('ip', ['netns', 'add', ns]);
    run('ip', ['netns', 'add', cloudNs]);
    run('ip', ['link', 'add', `dlh${tag}`, 'type', 'veth', 'peer', 'name', `dlb${tag}`, 'netns', ns]);
    run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', `dlh${tag}`]);
    run('ip', ['link', 'set', `dlh${tag}`, 'up']);
    const inNs = (name: string, ...args: string[]) => run('ip', ['netns', 'exec', name, ...args]);
    inNs(ns, 'ip', 'addr', 'add', `${bastionIp}/30`, 'dev', `dlb${tag}`);
    inNs(ns, 'ip', 'link', 'set', `dlb${tag}`, 'up');
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
    inNs(ns, 'ip', 'link', 'add', `dlx${tag}`, 'type', 'veth', 'peer', 'name', `dlc${tag}`, 'netns', cloudNs);
    inNs(ns, 'ip', 'addr', 'add', `${cloudGw}/30`, 'dev', `dlx${tag}`);
    inNs(ns, 'ip', 'link', 'set', `dlx${tag}`, 'up');
    inNs(cloudNs, 'ip', 'addr', 'add', `${cloudIp}/30`, 'dev', `dlc${tag}`);
    inNs(cloudNs, 'ip', 'link', 'set', `dlc${tag}`, 'up');
    inNs(cloudNs, 'ip', 'link', 'set', 'lo', 'up');

    let clusterIp: string | undefined;
    fs.mkdirSync(etc, { recursive: true });
    const k = opts.cluster;
    if (k) {
      // One more leg, on the cluster bridge like a node's pod: the bastion reaches pods, Service
      // addresses (NAT in the cluster namespace) and cluster DNS; the laptop still reaches none.
      clusterIp = `10.244.250.${2 + crypto.randomInt(250)}`;
      run('ip', ['link', 'add', `dlk${tag}`, 'netns', ns, 'type', 'veth', 'peer', 'name', `dlq${tag}`, 'netns', k.clusterNetns]);
      run('ip', ['-n', k.clusterNetns, 'link', 'set', `dlq${tag}`, 'master', k.bridge, 'up']);
      inNs(ns, 'ip', 'addr', 'add', `${clusterIp}/${k.prefixLength}`, 'dev', `dlk${tag}`);
      inNs(ns, 'ip', 'link', 'set', `dlk${tag}`, 'up');
      inNs(ns, 'ip', 'route', 'add', k.serviceNetwork, 'via', k.gateway);
      fs.writeFileSync(path.join(etc, 'resolv.conf'), `nameserver ${k.gateway}\nsearch svc.${k.clusterDomain} ${k.clusterDomain}\n`);
    }
    const cloudName = 'inventory.shop.svc.cluster.local';
    // Without a cluster the cloud server plays inventory.shop.svc.cluster.local; with one, cluster DNS answers.
    fs.writeFileSync(path.join(etc, 'hosts'), k ? '127.0.0.1 localhost\n' : `127.0.0.1 localhost\n${cloudIp} ${cloudName}\n`);
    // sshd checks passwords against /etc/shadow; inside the namespace this one is bind-mounted over it.
    const hash = run('openssl', ['passwd', '-6', password]).trim();
    fs.writeFileSync(path.join(etc, 'shadow'), `root:${hash}:19000:0:99999:7:::\n`, { mode: 0o640 });

    for (const k of ['host', 'user']) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `devlane-test-${k}`, '-f', path.join(dir, `${k}_key`)]);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'devlane-test-enc', '-f', path.join(dir, 'enc_key')]);
    fs.writeFileSync(path.join(dir, 'authorized_keys'), fs.readFileSync(path.join(dir, 'user_key.pub'), 'utf8') + fs.readFileSync(path.join(dir, 'enc_key.pub'), 'utf8'));
    const [keyType, keyB64] = fs.readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/);
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const writeSshdConfig = (gatewayPorts: GatewayPorts) => fs.writeFileSync(
      path.join(dir, 'sshd_config'),
      [
        'Port 22',
        `ListenAddress ${bastionIp}`,
        `HostKey ${path.join(dir, 'host_key')}`,
        'PidFile none',
        'PermitRootLogin yes',
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'AllowTcpForwarding yes',
        `GatewayPorts ${gatewayPorts}`,
        'MaxStartups 200:30:400',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    writeSshdConfig(opts.gatewayPorts ?? 'clientspecified');

    const cloud = spawn('ip', ['netns', 'exec', cloudNs, process.execPath, '-e', CLOUD_SERVER, cloudIp], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.add(cloud);
    await waitFor('the cloud HTTP server', () => {
      try {
        return inNs(cloudNs, 'curl', '-sf', '--max-time', '2', `http://${cloudIp}:8080/`).startsWith('inventory') || undefined;
      } catch {
        return undefined;
      }
    }, { timeoutMs: 20_000, intervalMs: 100 });

    const bastion: Bastion = {
      dir,
      ns,
      cloudNs,
      hostIp,
      bastionIp,
      cloudIp,
      cloudName,
      ...(clusterIp ? { clusterIp } : {}),
      cloudPort: 8080,
      echoPort: 9000,
      password,
      passphrase,
      userKey: path.join(dir, 'user_key'),
      encryptedKey: path.join(dir, 'enc_key'),
      knownHostsLine: `${bastionIp} ${keyType} ${keyB64}`,
      hostKeyBlob: Buffer.from(keyB64!, 'base64'),
      async startSshd() {
        sshd = spawn('ip', ['netns', 'exec', ns, '/usr/sbin/sshd', '-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
        children.add(sshd);
        // sshd's log is kept (bounded) for the failure message rather than printed into the test output.
        let log = '';
        sshd.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4096)));
        const started = sshd;
        await waitFor('sshd to listen', () => {
          if (started.exitCode !== null) throw new Error(`sshd exited (${started.exitCode}): ${log}`);
          return canConnect(bastionIp, 22);
        }, { timeoutMs: 20_000, intervalMs: 50 });
      },
      setGatewayPorts: writeSshdConfig,
      async stopSshd() {
        await stopNs(ns);
        sshd = undefined;
      },
      execInBastion: (args) =>
        new Promise((resolve, reject) =>
          execFile('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(`${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))),
        ),
      setLink(up) {
        run('ip', ['link', 'set', `dlh${tag}`, up ? 'up' : 'down']);
      },
      close,
    };
    return bastion;
  } catch (e) {
    await close();
    throw e;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function canConnect(host: string, port: number): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(2_000, () => s.destroy());
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(undefined));
    s.once('close', () => resolve(undefined));
  });
}
