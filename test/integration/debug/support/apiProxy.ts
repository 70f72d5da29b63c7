import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDocument } from 'yaml';

/**
 * A TCP relay in front of the test cluster's API server, and a kubeconfig that goes through it. TLS
 * passes through untouched (the certificate is for 127.0.0.1, whatever the port), so the adapter
 * under test talks to the real API server — and the test can break its connections, the way a
 * flaky network or a restarted API server front end would.
 */
export interface ApiProxy {
  readonly kubeconfigPath: string;
  /** Connections relayed so far. */
  readonly opened: number;
  /** Existing connections stop relaying in both directions (a stalled network); new ones flow. */
  hold(): void;
  /** Destroys every existing connection (both sides); new connections are relayed as before. */
  drop(): void;
  close(): Promise<void>;
}

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  held: boolean;
}

export async function startApiProxy(kubeconfigPath: string): Promise<ApiProxy> {
  const doc = parseDocument(fs.readFileSync(kubeconfigPath, 'utf8'));
  const clusters = doc.toJSON() as { clusters: { cluster: { server: string } }[] };
  const server = new URL(clusters.clusters[0]?.cluster.server ?? '');
  const upstreamPort = Number(server.port || 443);
  const pairs = new Set<Pair>();
  let opened = 0;
  const relay = net.createServer((client) => {
    opened++;
    const upstream = net.connect({ host: server.hostname, port: upstreamPort });
    const pair: Pair = { client, upstream, held: false };
    pairs.add(pair);
    const end = () => {
      // A held pair stays open until dropped: whatever happens behind it must not reach the client.
      if (pair.held) return;
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => void (pair.held || upstream.write(d)));
    upstream.on('data', (d: Buffer) => void (pair.held || client.write(d)));
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as net.AddressInfo).port;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-apiproxy-'));
  const file = path.join(dir, 'kubeconfig.yaml');
  doc.setIn(['clusters', 0, 'cluster', 'server'], `https://127.0.0.1:${port}`);
  fs.writeFileSync(file, doc.toString(), { mode: 0o600 });

  const dropAll = () => {
    for (const p of [...pairs]) {
      p.held = false;
      pairs.delete(p);
      p.client.destroy();
      p.upstream.destroy();
    }
  };
  return {
    kubeconfigPath: file,
    get opened() {
      return opened;
    },
    hold: () => pairs.forEach((p) => (p.held = true)),
    drop: dropAll,
    close: async () => {
      dropAll();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
