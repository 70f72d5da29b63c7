// Runs inside scripts/isolated.sh (a new machine's state): brings the cluster up as `npm run
// cluster:up` does, then port-forwards and execs into a pod, and prints one JSON line of what it saw.
// The cluster is taken down again whatever happened.
import * as http from 'node:http';
import { CoreV1Api } from '@kubernetes/client-node';
import { clusterDown, clusterUp } from '../../../../cluster/api';
import { consoleLogger } from '../../../../extension/core/log';
import { execInPod, forwardToPod, waitForPodReady } from '../../../support/cluster';

async function main(): Promise<void> {
  const log = consoleLogger('warn', 'fresh');
  const result: Record<string, unknown> = {};
  const started = Date.now();
  try {
    const c = await clusterUp({ log, timeoutMs: 180_000 });
    result.upMs = Date.now() - started;
    const { loadKc } = await import('../../../../cluster/api');
    const kc = loadKc(c.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'fresh' } } });
    await core.createNamespacedPod({
      namespace: 'fresh',
      body: {
        metadata: { name: 'web' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'web', image: 'node', command: ['node', '-e', "require('http').createServer((q, s) => s.end('served by ' + require('os').hostname())).listen(8080)"], ports: [{ containerPort: 8080 }] }],
        },
      },
    });
    await waitForPodReady(kc, 'fresh', 'web', 90_000);
    const fwd = await forwardToPod(kc, 'fresh', 'web', 8080);
    try {
      result.portForward = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: fwd.port, path: '/', timeout: 15_000 }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        }).on('error', reject).on('timeout', function (this: http.ClientRequest) {
          this.destroy(new Error('no answer through the port-forward within 15 s'));
        });
      });
    } catch (e) {
      result.portForwardError = e instanceof Error ? e.message : String(e);
    } finally {
      await fwd.close();
    }
    result.exec = (await execInPod(kc, 'fresh', 'web', 'web', ['cat', '/etc/hostname'])).stdout.trim();
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
  } finally {
    await clusterDown({ log }).catch((e: unknown) => (result.downError = String(e)));
  }
  console.log(JSON.stringify(result));
}

void main();
