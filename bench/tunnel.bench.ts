/**
 * npm run bench:tunnel — Devlane's SOCKS → SSH data plane against OpenSSH's `ssh -D`, both through
 * the same sshd in a bastion network namespace, to servers only the bastion reaches. Prints one JSON
 * line per figure. Needs root (network namespaces), sshd, ssh, curl, openssl.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createBastion } from '../test/integration/tunnels/support/bastion';
import { socksConnect } from '../test/integration/tunnels/support/clients';
import { startDataPlane } from '../test/integration/tunnels/support/dataPlane';
import { waitFor } from '../test/support/wait';

const GiB = 1024 ** 3;
const bytes = Number(process.env.BENCH_TUNNEL_BYTES ?? GiB);
const sequential = Number(process.env.BENCH_TUNNEL_SEQUENTIAL ?? 1000);
const concurrent = Number(process.env.BENCH_TUNNEL_CONCURRENT ?? 1000);

async function download(socksPort: number, host: string, port: number, n: number): Promise<number> {
  const { reply, socket } = await socksConnect(socksPort, host, port);
  if (reply !== 0) throw new Error(`SOCKS reply ${reply}`);
  const started = process.hrtime.bigint();
  socket.write(`GET /bytes/${n} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  let got = 0;
  for await (const c of socket) got += (c as Buffer).length;
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  if (got < n) throw new Error(`short transfer: ${got} of ${n} bytes`);
  return n / 1e6 / secs;
}

async function connectLatencies(socksPort: number, host: string, port: number, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    const { reply, socket } = await socksConnect(socksPort, host, port);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
    socket.destroy();
    if (reply !== 0) throw new Error(`SOCKS reply ${reply}`);
  }
  return out.sort((a, b) => a - b);
}

/**
 * Opens `count` echo connections (100 at a time), checks each echoes and holds them all; reports
 * errors and the proxy's peak RSS, sampled every 20 ms from the first connection to the last echo.
 */
async function holdMany(socksPort: number, host: string, port: number, count: number, pid: number): Promise<{ errors: number; peakRssMB: number }> {
  const held: net.Socket[] = [];
  let errors = 0;
  let peakRssMB = rss(pid);
  const sampler = setInterval(() => {
    // A process that died mid-run shows up as connection errors, not as a crash of the sampler.
    if (fs.existsSync(`/proc/${pid}/status`)) peakRssMB = Math.max(peakRssMB, rss(pid));
  }, 20);
  const one = async (i: number) => {
    try {
      const { reply, socket } = await socksConnect(socksPort, host, port);
      held.push(socket);
      if (reply !== 0) throw new Error(`reply ${reply}`);
      const msg = `ping ${i}\n`;
      const echoed = new Promise<void>((resolve, reject) => {
        let got = '';
        socket.on('data', (c: Buffer) => {
          got += c.toString();
          if (got === msg) resolve();
        });
        socket.once('error', reject);
        socket.once('close', () => reject(new Error('closed')));
      });
      socket.write(msg);
      await echoed;
    } catch {
      errors++;
    }
  };
  try {
    for (let i = 0; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, k) => one(i + k)));
    peakRssMB = Math.max(peakRssMB, rss(pid));
  } finally {
    clearInterval(sampler);
    for (const s of held) s.destroy();
  }
  return { errors, peakRssMB };
}

function rss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (x: number) => Math.round(x * 100) / 100;
const line = (bench: string, devlane: number, peer: number, unit: string) => console.log(JSON.stringify({ bench, devlane: round(devlane), peer: round(peer), ratio: peer === 0 ? null : round(devlane / peer), unit }));

/** The data plane as it ships: one esbuild bundle run by plain node (no tsx loader in the measured process). */
async function bundleDataPlane(dir: string): Promise<string> {
  const esbuild = await import('esbuild');
  const out = path.join(dir, 'dataplane.js');
  await esbuild.build({
    entryPoints: [path.resolve(__dirname, '../dataplane/main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    external: ['cpu-features', './crypto/build/Release/sshcrypto.node'],
    logLevel: 'warning',
  });
  // The shipped bundle has no ssh2 native crypto binding (Node's OpenSSL ciphers are used, and were
  // faster here). BENCH_TUNNEL_NATIVE=1 places the binding where the bundle looks, to compare.
  const native = path.resolve(__dirname, '../node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');
  if (process.env.BENCH_TUNNEL_NATIVE === '1' && fs.existsSync(native)) {
    fs.mkdirSync(path.join(dir, 'crypto/build/Release'), { recursive: true });
    fs.copyFileSync(native, path.join(dir, 'crypto/build/Release/sshcrypto.node'));
    console.error('data plane uses ssh2\'s native crypto binding');
  }
  return out;
}

async function main(): Promise<void> {
  const b = await createBastion();
  let dp: ReturnType<typeof startDataPlane> | undefined;
  let ssh: ReturnType<typeof spawn> | undefined;
  try {
    // The data plane is spawned the way the extension spawns it (DataPlaneClient: its node flags and
    // allocator settings); BENCH_NODE_FLAGS adds flags to compare.
    dp = startDataPlane({}, { graceMs: 10_000, command: [process.execPath, ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), await bundleDataPlane(b.dir)] });
    await b.startSshd();
    const kh = path.join(b.dir, 'known_hosts');
    fs.writeFileSync(kh, `${b.knownHostsLine}\n`);
    const info = await dp.client.request('tunnel.start', {
      id: 'bench',
      hops: [{ alias: 'bastion', hostName: b.bastionIp, port: 22, user: 'root', identityFiles: [b.userKey], identitiesOnly: true }],
      knownHostsFiles: [kh],
      socks: { port: 0 },
      // BENCH_TUNNEL_CIPHERS=aes128-ctr,… to compare cipher choices (default: ssh2's order, AES-GCM first).
      ...(process.env.BENCH_TUNNEL_CIPHERS ? { ciphers: process.env.BENCH_TUNNEL_CIPHERS.split(',') } : {}),
    });
    const peerPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    // Same cipher on both sides: ssh2 negotiates AES-GCM first, while OpenSSH would pick
    // chacha20-poly1305, a third slower here (290-340 vs 450-525 MB/s), which flattered Devlane's throughput ratio.
    // BENCH_TUNNEL_PEER_CIPHER=chacha20-poly1305@openssh.com gives the old comparison.
    const peerCipher = process.env.BENCH_TUNNEL_PEER_CIPHER ?? process.env.BENCH_TUNNEL_CIPHERS?.split(',')[0] ?? 'aes128-gcm@openssh.com';
    console.error(`ssh -D cipher: ${peerCipher}`);
    ssh = spawn('ssh', ['-N', '-D', `127.0.0.1:${peerPort}`, '-c', peerCipher, '-i', b.userKey, '-o', `UserKnownHostsFile=${kh}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ExitOnForwardFailure=yes', `root@${b.bastionIp}`], { stdio: 'ignore' });
    await waitFor('ssh -D to listen', async () => (await socksConnect(peerPort, b.cloudIp, b.cloudPort).then((r) => (r.socket.destroy(), r.reply === 0)).catch(() => false)) || undefined, { timeoutMs: 30_000 });
    const dpPid = dp.client.pid!;
    const sshPid = ssh.pid!;
    console.error(`idle RSS: data plane ${round(rss(dpPid))} MB, ssh -D ${round(rss(sshPid))} MB`);

    // Many connections held, on a fresh data plane: peak RSS while they open and are held.
    const dHold = await holdMany(info.socksPort, b.cloudIp, b.echoPort, concurrent, dpPid);
    const pHold = await holdMany(peerPort, b.cloudIp, b.echoPort, concurrent, sshPid);
    line(`tunnel-concurrent-${concurrent}-errors`, dHold.errors, pHold.errors, 'errors');
    line(`tunnel-rss-peak-${concurrent}-connections`, dHold.peakRssMB, pHold.peakRssMB, 'MB');

    // Warm both paths, then alternate runs and keep each side's best to damp noise on a shared machine.
    await download(info.socksPort, b.cloudIp, b.cloudPort, 64 * 1024 * 1024);
    await download(peerPort, b.cloudIp, b.cloudPort, 64 * 1024 * 1024);
    let dl = 0;
    let peer = 0;
    for (let r = 0; r < 2; r++) {
      dl = Math.max(dl, await download(info.socksPort, b.cloudName, b.cloudPort, bytes));
      peer = Math.max(peer, await download(peerPort, b.cloudName, b.cloudPort, bytes));
    }
    line('tunnel-throughput', dl, peer, 'MB/s');
    line('tunnel-rss-after-transfers', rss(dpPid), rss(sshPid), 'MB');

    const dLat = await connectLatencies(info.socksPort, b.cloudIp, b.echoPort, sequential);
    const pLat = await connectLatencies(peerPort, b.cloudIp, b.echoPort, sequential);
    line('tunnel-connect-p50', pct(dLat, 50), pct(pLat, 50), 'ms');
    line('tunnel-connect-p99', pct(dLat, 99), pct(pLat, 99), 'ms');

    // The same many connections again, after the transfers (what the transfers left behind counts).
    const dAfter = await holdMany(info.socksPort, b.cloudIp, b.echoPort, concurrent, dpPid);
    const pAfter = await holdMany(peerPort, b.cloudIp, b.echoPort, concurrent, sshPid);
    line(`tunnel-rss-peak-${concurrent}-connections-after-transfers`, dAfter.peakRssMB, pAfter.peakRssMB, 'MB');
    line(`tunnel-concurrent-${concurrent}-errors-after-transfers`, dAfter.errors, pAfter.errors, 'errors');
  } finally {
    ssh?.kill();
    await dp?.close().catch(() => undefined);
    await b.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
