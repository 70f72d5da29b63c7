import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CoreV1Api, DiscoveryV1Api, makeInformer, type Informer, type KubeConfig, type ObjectCache, type V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../extension/core/log';
import { network } from '../paths';
import { applyServiceRules, type ServiceRule } from './network';

/** The pure part: Services + EndpointSlices → NAT rules and DNS host lines. */
export function serviceState(services: readonly V1Service[], slices: readonly V1EndpointSlice[], domain = network.clusterDomain): { rules: ServiceRule[]; hosts: string } {
  const rules: ServiceRule[] = [];
  const hosts: string[] = [];
  const slicesOf = new Map<string, V1EndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
    if (!svc || s.addressType !== 'IPv4') continue;
    const key = `${s.metadata?.namespace}/${svc}`;
    slicesOf.set(key, [...(slicesOf.get(key) ?? []), s]);
  }
  for (const svc of services) {
    const ns = svc.metadata?.namespace ?? 'default';
    const name = svc.metadata?.name ?? '';
    const fqdn = `${name}.${ns}.svc.${domain}`;
    const mine = slicesOf.get(`${ns}/${name}`) ?? [];
    const readyAddresses = (portName: string | undefined, protocol: string) => {
      const out: string[] = [];
      for (const s of mine) {
        const port = (s.ports ?? []).find((p) => (p.name ?? '') === (portName ?? '') && (p.protocol ?? 'TCP') === protocol);
        for (const ep of s.endpoints ?? []) {
          if (ep.conditions?.ready === false) continue;
          for (const a of ep.addresses) out.push(port?.port !== undefined ? `${a}:${port.port}` : a);
        }
      }
      return [...new Set(out)].sort();
    };
    const clusterIP = svc.spec?.clusterIP;
    if (svc.spec?.type === 'ExternalName') continue;
    if (!clusterIP || clusterIP === 'None') {
      // Headless: the name resolves to the ready pods themselves.
      const ips = new Set(mine.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses)));
      for (const ip of [...ips].sort()) hosts.push(`${ip} ${fqdn}`);
      continue;
    }
    hosts.push(`${clusterIP} ${fqdn}`);
    for (const p of svc.spec?.ports ?? []) {
      const protocol = (p.protocol ?? 'TCP') as 'TCP' | 'UDP';
      if (protocol !== 'TCP' && protocol !== 'UDP') continue;
      rules.push({ clusterIP, port: p.port, protocol, endpoints: readyAddresses(p.name, protocol).filter((a) => a.includes(':')) });
    }
  }
  return { rules, hosts: hosts.length ? `${hosts.join('\n')}\n` : '' };
}

/**
 * kube-proxy and cluster DNS for the cluster network: watches Services and EndpointSlices and keeps
 * the NAT rules and dnsmasq's hosts file in step with them.
 */
export class ServiceProxy {
  private readonly services: Informer<V1Service> & ObjectCache<V1Service>;
  private readonly slices: Informer<V1EndpointSlice> & ObjectCache<V1EndpointSlice>;
  private dnsmasq: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private applied = '';
  private chain: Promise<void> = Promise.resolve();
  private readonly hostsDir: string;
  private disposed = false;

  constructor(kc: KubeConfig, stateDir: string, private readonly log: Logger) {
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    this.services = makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
    this.slices = makeInformer(kc, '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces());
    this.hostsDir = path.join(stateDir, 'dns-hosts');
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.hostsDir, { recursive: true });
    fs.writeFileSync(path.join(this.hostsDir, 'services'), '');
    this.startDns();
    for (const inf of [this.services, this.slices] as Informer<V1Service | V1EndpointSlice>[]) {
      inf.on('add', () => this.schedule());
      inf.on('update', () => this.schedule());
      inf.on('delete', () => this.schedule());
      inf.on('error', (e: unknown) => {
        if (this.disposed) return;
        this.log.warn(`service watch ended (${String(e)}); restarting`);
        setTimeout(() => void inf.start().catch(() => undefined), 1_000);
      });
    }
    await Promise.all([this.services.start(), this.slices.start()]);
    this.schedule();
    await this.flush();
  }

  private startDns(): void {
    // dnsmasq answers for cluster.local from a hosts folder it watches (inotify), nothing else.
    const args = [
      'netns', 'exec', network.clusterNetns,
      'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--no-negcache', '--bind-interfaces',
      `--listen-address=${network.gateway}`, `--hostsdir=${this.hostsDir}`, `--local=/${network.clusterDomain}/`,
      '--pid-file=', '--user=root', '--log-facility=-',
    ];
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => this.log.debug(`dnsmasq: ${d.toString().trim()}`));
    child.on('exit', (code) => {
      if (!this.disposed) this.log.error(`dnsmasq exited (${code})`);
    });
    this.dnsmasq = child;
  }

  private schedule(): void {
    if (this.disposed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), 50);
  }

  private flush(): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.disposed) return;
      try {
        const { rules, hosts } = serviceState(this.services.list(), this.slices.list());
        const key = JSON.stringify(rules) + hosts;
        if (key === this.applied) return;
        await applyServiceRules(rules);
        const file = path.join(this.hostsDir, 'services');
        // Written beside the folder and renamed in, so dnsmasq never reads half a file.
        fs.writeFileSync(`${this.hostsDir}.tmp`, hosts);
        fs.renameSync(`${this.hostsDir}.tmp`, file);
        this.applied = key;
        this.log.debug(`services: ${rules.length} rule(s) applied`);
      } catch (e) {
        this.log.error(`applying service rules failed: ${(e as Error).message}`);
      }
    });
    return this.chain;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.timer);
    await Promise.allSettled([this.services.stop(), this.slices.stop()]);
    this.dnsmasq?.kill('SIGKILL');
  }
}
