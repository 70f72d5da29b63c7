import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { DevlaneError } from '../../extension/core/errors';
import { silentLogger, type Logger } from '../../extension/core/log';
import { clusterPaths, repoRoot, type ClusterPaths } from '../paths';
import { waitUntil } from '../process-util';
import { imageDir, sampleApps } from './images';

const execFileP = promisify(execFile);
export const samplesDir = path.join(repoRoot, 'cluster', 'samples', 'shop');

function javaSources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...javaSources(p));
    else if (e.name.endsWith('.java')) out.push(p);
  }
  return out.sort();
}

/** Compiles each sample app with the machine's javac (-g, for debugging) unless its sources are unchanged. */
export async function buildSampleImages(paths: ClusterPaths = clusterPaths(), log: Logger = silentLogger): Promise<void> {
  for (const a of sampleApps) {
    const src = path.join(samplesDir, a.app, 'src', 'main', 'java');
    const files = javaSources(src);
    const hash = createHash('sha256');
    for (const f of files) hash.update(f).update(fs.readFileSync(f));
    const stamp = hash.digest('hex');
    const out = imageDir(paths, a.app);
    const stampFile = path.join(out, '.source-hash');
    if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) continue;
    log.info(`compiling sample ${a.app}`);
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(path.join(out, 'classes'), { recursive: true });
    try {
      await execFileP('javac', ['-g', '--release', '17', '-d', path.join(out, 'classes'), ...files]);
    } catch (e) {
      throw new DevlaneError('artifact-missing', `Compiling the sample ${a.app} failed: ${(e as { stderr?: string }).stderr ?? String(e)}. Check that a JDK 17+ javac is on PATH.`, { cause: e });
    }
    fs.writeFileSync(stampFile, stamp);
  }
}

/** Server-side applies the sample shop and waits until every Deployment has all replicas ready. */
export async function deploySamples(kc: KubeConfig, opts: { log?: Logger; timeoutMs?: number; paths?: ClusterPaths; healthy?: () => void } = {}): Promise<void> {
  const log = opts.log ?? silentLogger;
  await buildSampleImages(opts.paths ?? clusterPaths(), log);
  const client = KubernetesObjectApi.makeApiClient(kc);
  const docs = parseAllDocuments(fs.readFileSync(path.join(samplesDir, 'manifests.yaml'), 'utf8')).map((d) => d.toJSON() as KubernetesObject);
  for (const d of docs) {
    await client.patch(d, undefined, undefined, 'devlane-samples', true, PatchStrategy.ServerSideApply);
  }
  const apps = kc.makeApiClient(AppsV1Api);
  await waitUntil(
    'the sample Deployments to be ready',
    async () => {
      opts.healthy?.();
      const list = await apps.listNamespacedDeployment({ namespace: 'shop' });
      return list.items.length >= 2 && list.items.every((d) => (d.status?.readyReplicas ?? 0) === (d.spec?.replicas ?? 1) && d.status?.observedGeneration === d.metadata?.generation);
    },
    opts.timeoutMs ?? 120_000,
    500,
  );
  log.info('sample shop ready');
}
