import * as http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { forwardToPod } from '../../support/cluster';

/** One HTTP GET to a pod's port through the API server's port-forward; status and body. */
export async function httpGetViaPortForward(kc: KubeConfig, namespace: string, pod: string, port: number, path: string, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  const fwd = await forwardToPod(kc, namespace, pod, port);
  try {
    return await new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: fwd.port, path, agent: false, timeout: timeoutMs }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no HTTP answer from ${namespace}/${pod}:${port}${path} within ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  } finally {
    await fwd.close();
  }
}
