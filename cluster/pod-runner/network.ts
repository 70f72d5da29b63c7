import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from '../../extension/core/log';
import { network } from '../paths';

const execFileP = promisify(execFile);

/** Prefix of every pod's network namespace (under /run/netns, as `ip netns` keeps them). */
const podNetnsPrefix = 'dlp-';

export async function run(cmd: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await execFileP(cmd, args, { maxBuffer: 8 * 1024 * 1024 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

const ip = (...args: string[]) => run('ip', args);
const inCluster = (...args: string[]) => run('ip', ['netns', 'exec', network.clusterNetns, ...args]);

const netnsDir = '/run/netns';
export const netnsPath = (name: string) => `${netnsDir}/${name}`;

/**
 * Makes /run/netns a shared mount point, as `ip netns add` does on first use. It must be one
 * before kwok starts: kwok runs in a mount namespace of its own (a slave of the host's, see
 * kwok-controller.sh), and only mounts made under a *shared* /run/netns propagate into it — the
 * pods' namespaces that port-forward enters. On a machine where nothing made /run/netns shared
 * yet (a new one: the root mount private, /run/netns absent) a later `ip netns add` makes it
 * shared only on the host's side, and kwok never sees a pod's namespace.
 */
export async function ensureSharedNetnsDir(): Promise<void> {
  fs.mkdirSync(netnsDir, { recursive: true, mode: 0o755 });
  // As iproute2 does: make it shared; if it is not a mount point yet, bind it onto itself first.
  await run('mount', ['--make-shared', netnsDir]).catch(async () => {
    await run('mount', ['--bind', netnsDir, netnsDir]);
    await run('mount', ['--make-shared', netnsDir]);
  });
}

/** Short, stable names for a pod's netns and veth (interface names are at most 15 bytes). */
export function podNetIds(uid: string): { netns: string; veth: string } {
  const id = uid.replace(/-/g, '').slice(0, 12);
  return { netns: `${podNetnsPrefix}${id}`, veth: `v${id}` };
}

/**
 * The cluster network: a bridge in its own network namespace, so pods reach each other and the
 * Service addresses there, while the host has no route into it (only port-forward and exec,
 * which enter a pod's namespace, reach a pod — as on a real cluster).
 */
export async function createClusterNetwork(log: Logger): Promise<void> {
  await cleanupClusterNetwork(log);
  await ip('netns', 'add', network.clusterNetns);
  await ip('-n', network.clusterNetns, 'link', 'set', 'lo', 'up');
  await ip('-n', network.clusterNetns, 'link', 'add', network.bridge, 'type', 'bridge');
  // A bridge without an address of its own takes the lowest MAC of its ports, so it changes as
  // pods come and go, and pods that cached the gateway's old MAC lose it (DNS timeouts) until
  // their ARP entry expires. A fixed, locally administered MAC keeps the gateway where it is.
  await ip('-n', network.clusterNetns, 'link', 'set', network.bridge, 'address', '02:de:71:a0:00:01');
  await ip('-n', network.clusterNetns, 'addr', 'add', `${network.gateway}/${network.prefixLength}`, 'dev', network.bridge);
  await ip('-n', network.clusterNetns, 'link', 'set', network.bridge, 'up');
  await inCluster('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
}

export async function addPodNetwork(uid: string, podIP: string): Promise<string> {
  const { netns, veth } = podNetIds(uid);
  await removePodNetwork(uid);
  await ip('netns', 'add', netns);
  await ip('-n', netns, 'link', 'set', 'lo', 'up');
  await ip('-n', network.clusterNetns, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
  await ip('-n', network.clusterNetns, 'link', 'set', veth, 'master', network.bridge, 'up');
  await ip('-n', netns, 'addr', 'add', `${podIP}/${network.prefixLength}`, 'dev', 'eth0');
  await ip('-n', netns, 'link', 'set', 'eth0', 'up');
  await ip('-n', netns, 'route', 'add', 'default', 'via', network.gateway);
  return netnsPath(netns);
}

export async function removePodNetwork(uid: string): Promise<void> {
  const { netns, veth } = podNetIds(uid);
  if (fs.existsSync(netnsPath(network.clusterNetns))) await ip('-n', network.clusterNetns, 'link', 'del', veth).catch(() => undefined);
  if (fs.existsSync(netnsPath(netns))) await ip('netns', 'del', netns).catch(() => undefined);
}

function ourNetns(): string[] {
  try {
    return fs.readdirSync(netnsDir).filter((n) => n === network.clusterNetns || n.startsWith(podNetnsPrefix));
  } catch {
    return [];
  }
}

/** Removes every namespace of ours (pods' and the cluster's), ending processes still inside. */
export async function cleanupClusterNetwork(log: Logger): Promise<void> {
  for (const name of ourNetns()) {
    const pids = (await ip('netns', 'pids', name).catch(() => ''))
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 1);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    if (pids.length) log.warn(`killed ${pids.length} leftover process(es) in network namespace ${name}`);
    await ip('netns', 'del', name).catch((e: Error) => log.warn(`ip netns del ${name}: ${e.message}`));
  }
}

export interface ServiceRule {
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  /** "ip:port" of ready endpoints. */
  readonly endpoints: readonly string[];
}

/**
 * kube-proxy's job in iptables terms, for the cluster namespace: DNAT a Service address to one
 * of its ready endpoints (random, evenly), reject when none is ready, and masquerade DNATed
 * traffic so replies come back through the bridge's address (pods share one L2 segment).
 */
export function serviceRules(rules: readonly ServiceRule[]): string {
  const nat: string[] = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':DEVLANE-SERVICES - [0:0]'];
  const natRules: string[] = ['-A PREROUTING -j DEVLANE-SERVICES', '-A OUTPUT -j DEVLANE-SERVICES', '-A POSTROUTING -m conntrack --ctstate DNAT -j MASQUERADE'];
  const filter: string[] = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
  const filterRules: string[] = [];
  rules.forEach((r, i) => {
    const proto = r.protocol.toLowerCase();
    const match = `-d ${r.clusterIP}/32 -p ${proto} -m ${proto} --dport ${r.port}`;
    if (r.endpoints.length === 0) {
      const reject = proto === 'tcp' ? '--reject-with tcp-reset' : '--reject-with icmp-port-unreachable';
      filterRules.push(`-A FORWARD ${match} -j REJECT ${reject}`, `-A INPUT ${match} -j REJECT ${reject}`);
      return;
    }
    const chain = `DEVLANE-SVC-${i}`;
    nat.push(`:${chain} - [0:0]`);
    natRules.push(`-A DEVLANE-SERVICES ${match} -j ${chain}`);
    r.endpoints.forEach((ep, j) => {
      const left = r.endpoints.length - j;
      const pick = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(5)} ` : '';
      natRules.push(`-A ${chain} ${pick}-p ${proto} -j DNAT --to-destination ${ep}`);
    });
  });
  return [...nat, ...natRules, 'COMMIT', ...filter, ...filterRules, 'COMMIT', ''].join('\n');
}

export async function applyServiceRules(rules: readonly ServiceRule[]): Promise<void> {
  await run('ip', ['netns', 'exec', network.clusterNetns, 'iptables-restore'], serviceRules(rules));
}

/** True when something in the namespace listens on TCP `port` (read from /proc, not from a tool's output). */
export function listeningPorts(pid: number): Set<number> {
  const ports = new Set<number>();
  for (const f of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${f}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is "HEXIP:HEXPORT"; st 0A is LISTEN.
      if (cols.length > 3 && cols[3] === '0A') {
        const port = parseInt(cols[1]?.split(':')[1] ?? '', 16);
        if (Number.isInteger(port)) ports.add(port);
      }
    }
  }
  return ports;
}
