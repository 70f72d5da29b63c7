/**
 * Bundled by bundledClient.test.ts with the extension's own esbuild options, then run in plain
 * Node: proves that client-node's exec and port-forward work *inside a bundle* (isomorphic-ws
 * must resolve to its Node build, or they fail with "… is not a constructor").
 */
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import { Exec, KubeConfig, PortForward, type V1Status } from '@kubernetes/client-node';

async function main(): Promise<void> {
  const [kubeconfig, namespace, pod, port] = process.argv.slice(2) as [string, string, string, string];
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);

  const out = new PassThrough();
  let stdout = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  const status = await new Promise<V1Status>((resolve, reject) => {
    new Exec(kc).exec(namespace, pod, 'app', ['sh', '-c', 'echo bundled-exec-ok'], out, process.stderr, null, false, resolve).catch(reject);
  });

  const server = net.createServer((socket) => {
    void new PortForward(kc).portForward(namespace, pod, [Number(port)], socket, null, socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const local = (server.address() as net.AddressInfo).port;
  const body = await fetch(`http://127.0.0.1:${local}/`).then((r) => r.text());
  server.close();
  console.log(JSON.stringify({ exec: stdout.trim(), execStatus: status.status, http: body.trim() }));
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
