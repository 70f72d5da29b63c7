import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1PodSpec } from '@kubernetes/client-node';
import { execInPod, waitForReadyPods } from '../../../support/cluster';

/** The peers scripts/peers/registries.mjs builds (once; cached under ~/.cache/devlane-tools/peers). */
export interface RegistryPeers {
  readonly consul: string;
  readonly eureka: string;
  readonly nacos: string;
  /** A runnable jar: a Netty HTTP client that prints "ok STATUS BODY" for the URL it is given. */
  readonly netty: string;
}

export function registryPeers(): RegistryPeers {
  const script = path.resolve(__dirname, '../../../../scripts/peers/registries.mjs');
  const out = execFileSync(process.execPath, [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60 * 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as RegistryPeers;
}

const httpProbe = (port: number, probePath: string) => ({ httpGet: { path: probePath, port }, periodSeconds: 1, failureThreshold: 3 });

function deployment(name: string, podSpec: V1PodSpec): V1Deployment {
  return {
    metadata: { name, labels: { app: name } },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec } },
  };
}

/**
 * Consul (dev agent, HTTP on 8500), Eureka (8761) and Nacos (8848) (or those of `kinds`) as Deployments with Services,
 * run from the host-built binaries through hostPath volumes, plus a `client` pod (curl) that plays another
 * service looking the local one up. Resolves once all three are Ready.
 */
export async function deployRegistries(kc: KubeConfig, namespace: string, peers: RegistryPeers, kinds: readonly (keyof RegistryPeers)[] = ['consul', 'eureka', 'nacos']): Promise<{ clientPod: string }> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const consulDir = path.dirname(peers.consul);
  const eurekaDir = path.dirname(peers.eureka);
  if (kinds.includes('consul')) await apps.createNamespacedDeployment({
    namespace,
    body: deployment('consul', {
      volumes: [{ name: 'bin', hostPath: { path: consulDir, type: 'Directory' } }],
      containers: [
        {
          name: 'consul',
          image: 'hashicorp/consul',
          command: ['/peer/consul', 'agent', '-dev', '-client=0.0.0.0', '-bind=127.0.0.1', '-log-level=warn'],
          ports: [{ containerPort: 8500 }],
          volumeMounts: [{ name: 'bin', mountPath: '/peer', readOnly: true }],
          readinessProbe: httpProbe(8500, '/v1/status/leader'),
        },
      ],
    }),
  });
  if (kinds.includes('eureka')) await apps.createNamespacedDeployment({
    namespace,
    body: deployment('eureka', {
      volumes: [{ name: 'jar', hostPath: { path: eurekaDir, type: 'Directory' } }],
      containers: [
        {
          name: 'eureka',
          image: 'eclipse-temurin',
          command: ['java', '-Xmx256m', '-XX:TieredStopAtLevel=1', '-jar', `/peer/${path.basename(peers.eureka)}`],
          env: [{ name: 'PORT', value: '8761' }],
          ports: [{ containerPort: 8761 }],
          volumeMounts: [{ name: 'jar', mountPath: '/peer', readOnly: true }],
          readinessProbe: httpProbe(8761, '/eureka/apps'),
        },
      ],
    }),
  });
  if (kinds.includes('nacos')) await apps.createNamespacedDeployment({
    namespace,
    body: deployment('nacos', {
      volumes: [{ name: 'jar', hostPath: { path: path.dirname(peers.nacos), type: 'Directory' } }],
      containers: [
        {
          name: 'nacos',
          image: 'eclipse-temurin',
          command: ['java', '-Xmx256m', '-XX:TieredStopAtLevel=1', '-jar', `/peer/${path.basename(peers.nacos)}`],
          env: [{ name: 'PORT', value: '8848' }],
          ports: [{ containerPort: 8848 }],
          volumeMounts: [{ name: 'jar', mountPath: '/peer', readOnly: true }],
          // Its HTTP API answers 500 for unknown services; the port opens once the server is up.
          readinessProbe: { tcpSocket: { port: 8848 }, periodSeconds: 1 },
        },
      ],
    }),
  });
  for (const [name, port] of [['consul', 8500], ['eureka', 8761], ['nacos', 8848]] as const) {
    if (!kinds.includes(name)) continue;
    await core.createNamespacedService({ namespace, body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port, targetPort: port }] } } });
  }
  await core.createNamespacedPod({
    namespace,
    body: { metadata: { name: 'client', labels: { app: 'client' } }, spec: { containers: [{ name: 'client', image: 'debian', command: ['sleep', 'infinity'] }] } },
  });
  // Eureka is a JVM that starts in 10–60 s on a loaded 2-core machine.
  await Promise.all([
    ...(kinds.includes('consul') ? [waitForReadyPods(kc, namespace, 'app=consul', 1, 240_000)] : []),
    ...(kinds.includes('eureka') ? [waitForReadyPods(kc, namespace, 'app=eureka', 1, 300_000)] : []),
    ...(kinds.includes('nacos') ? [waitForReadyPods(kc, namespace, 'app=nacos', 1, 300_000)] : []),
    waitForReadyPods(kc, namespace, 'app=client', 1, 120_000),
  ]);
  return { clientPod: 'client' };
}

/** Runs curl in the client pod; resolves with the body, or undefined when curl failed (connection refused, HTTP error). */
export async function curlFromPod(kc: KubeConfig, namespace: string, pod: string, args: readonly string[]): Promise<string | undefined> {
  const r = await execInPod(kc, namespace, pod, pod, ['curl', '-sS', '-f', '--max-time', '20', ...args], 60_000);
  return r.status === 'Success' ? r.stdout : undefined;
}

export interface FoundInstance {
  readonly address: string;
  readonly port: number;
  readonly id: string;
}

/** Consul's catalog as a consumer reads it: the passing instances of a service. */
export async function consulLookup(kc: KubeConfig, namespace: string, pod: string, service: string): Promise<FoundInstance[]> {
  const body = await curlFromPod(kc, namespace, pod, [`http://consul:8500/v1/health/service/${service}?passing=true`]);
  if (body === undefined) throw new Error('Consul lookup failed');
  const entries = JSON.parse(body) as { Service: { ID: string; Address: string; Port: number } }[];
  return entries.map((e) => ({ id: e.Service.ID, address: e.Service.Address, port: e.Service.Port }));
}

/** Eureka's registry as a consumer reads it; an unknown application is an empty list. */
export async function eurekaLookup(kc: KubeConfig, namespace: string, pod: string, service: string): Promise<(FoundInstance & { lastRenewal: number; registered: number; status: string })[]> {
  const r = await execInPod(kc, namespace, pod, pod, ['curl', '-sS', '--max-time', '20', '-H', 'Accept: application/json', '-w', '\n%{http_code}', `http://eureka:8761/eureka/apps/${service.toUpperCase()}`], 60_000);
  if (r.status !== 'Success') throw new Error(`Eureka lookup failed: ${r.message ?? ''} ${r.stderr}`);
  const cut = r.stdout.lastIndexOf('\n');
  const code = Number(r.stdout.slice(cut + 1));
  if (code === 404) return [];
  if (code !== 200) throw new Error(`Eureka answered ${code}`);
  const app = (JSON.parse(r.stdout.slice(0, cut)) as { application: { instance: EurekaInstance[] } }).application;
  return app.instance.map((i) => ({ id: i.instanceId, address: i.ipAddr, port: i.port.$, status: i.status, lastRenewal: i.leaseInfo.lastRenewalTimestamp, registered: i.leaseInfo.registrationTimestamp }));
}

interface EurekaInstance {
  instanceId: string;
  ipAddr: string;
  status: string;
  port: { $: number };
  leaseInfo: { lastRenewalTimestamp: number; registrationTimestamp: number };
}

/** Nacos's instance list as a consumer reads it (healthy instances only); an unknown service is an empty list. */
export async function nacosLookup(kc: KubeConfig, namespace: string, pod: string, service: string): Promise<FoundInstance[]> {
  const r = await execInPod(kc, namespace, pod, pod, ['curl', '-sS', '--max-time', '20', '-w', '\n%{http_code}', `http://nacos:8848/nacos/v1/ns/instance/list?serviceName=${service}`], 60_000);
  if (r.status !== 'Success') throw new Error(`Nacos lookup failed: ${r.message ?? ''} ${r.stderr}`);
  const cut = r.stdout.lastIndexOf('\n');
  const code = Number(r.stdout.slice(cut + 1));
  // Nacos 0.8 answers 500 "dom not found" for a service that never had an instance.
  if (code !== 200) return [];
  const hosts = (JSON.parse(r.stdout.slice(0, cut)) as { hosts: { ip: string; port: number; instanceId: string; valid?: boolean; healthy?: boolean }[] }).hosts;
  return hosts.filter((h) => (h.healthy ?? h.valid) !== false).map((h) => ({ id: h.instanceId, address: h.ip, port: h.port }));
}
