// npm run bench:deploy — deploy-to-clone against the test cluster, side by side with kubectl.
//
// Two figures, each the median of several runs, measured from "start" to "the clone serves the
// new build" (an HTTP GET through port-forward returns the new marker):
//   1. a 50 MB jar redeployed (full upload) and the app restarted;
//   2. a one-class change in an exploded app (a class folder plus 300 resource files).
// Devlane: Deployer.deploy (one exec: framed tar upload, stage, atomic switch, supervisor restart,
// wait for the port). Peer, on the same clone: kubectl copying the same bytes, then `kubectl exec`
// signalling the same supervisor to restart the app.
//
// `kubectl cp` itself never finishes on the test cluster: it relies on the end of stdin to stop
// the remote `tar x`, and kwok's exec never closes the child's stdin (the file stays a block
// short). The peer is therefore what kubectl cp does inside — `tar c | kubectl exec -i -- tar x` —
// with `head -c N` in front of the remote tar so it can end. A probe line reports the hang.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBinaries } from '../cluster/api';
import { Deployer } from '../extension/core/clones/deploy/deploy';
import { execIn } from '../extension/core/kube/exec';
import { createClone, deleteClone, type CloneEnv } from '../extension/core/clones/lifecycle';
import { ServerClock } from '../extension/core/clones/serverClock';
import { ownerIdentity } from '../extension/core/clones/spec/identity';
import { resolveOptions } from '../extension/core/clones/spec/options';
import { consoleLogger, silentLogger } from '../extension/core/log';
import { forwardToPod } from '../test/support/cluster';
import { buildOrdersWithVersion, ordersCommandWithDeployedClasses } from '../test/integration/clones/sampleBuild';
import { benchCluster } from './support/cluster';
import { runBench, type Teardown } from './support/teardown';

const runs = Number(process.env.DEPLOY_BENCH_RUNS ?? 3);
const ns = 'shop';
const log = consoleLogger('info', 'bench:deploy');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// A request to a port nobody listens on yet can hang in port-forward instead of failing, so each
// try is short; both methods are polled the same way.
function get(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, timeout: 250 }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? b : `HTTP ${res.statusCode}`));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Polls the clone through port-forward until /version answers `marker`. */
async function serving(port: number, marker: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await get(port, '/version').catch(() => '');
    if (body === marker) return;
    if (Date.now() > deadline) throw new Error(`the clone did not serve ${marker} within ${timeoutMs} ms (last: ${body})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function run(cmd: string, args: string[], timeoutMs = 300_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(0);
      else reject(new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} … exited ${code}: ${err.trim().slice(0, 300)}`));
    });
  });
}

async function main(t: Teardown): Promise<void> {
  const { kc, kubeconfigPath } = await benchCluster(t);
  const kubectl = path.join(await ensureBinaries(log), 'kubectl');
  const env: CloneEnv = { kc, owner: ownerIdentity({ kubeUser: 'bench', osUser: 'bench', host: os.hostname() }), clock: new ServerClock(kc), log: silentLogger };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-bench-deploy-'));
  t.defer(tmp, () => fs.rmSync(tmp, { recursive: true, force: true }));
  const kx = (pod: string, script: string) => execIn(kc, ns, pod, 'orders', ['/bin/sh', '-c', script], { timeoutMs: 60_000 });
  const kubectlArgs = (pod: string) => ['--kubeconfig', kubeconfigPath, '-n', ns, 'exec', '-i', pod, '-c', 'orders', '--'];
  const hup = (pod: string) => run(kubectl, ['--kubeconfig', kubeconfigPath, '-n', ns, 'exec', pod, '-c', 'orders', '--', 'sh', '-c', 'kill -HUP "$(cat /devlane/supervisor.pid)"']);
  /** tar of `rel` under `dir`, then kubectl exec -i … head -c N | tar x -C dest. */
  const peerCopy = async (pod: string, dir: string, rel: string, dest: string) => {
    const tarFile = path.join(tmp, 'peer.tar');
    await run('tar', ['-cf', tarFile, '-C', dir, rel]);
    const size = fs.statSync(tarFile).size;
    await new Promise<void>((resolve, reject) => {
      const p = spawn(kubectl, [...kubectlArgs(pod), 'sh', '-c', `mkdir -p ${dest} && head -c ${size} | tar -xmf - -C ${dest}`], { stdio: [fs.openSync(tarFile, 'r'), 'ignore', 'pipe'] });
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl exec -i tar exited ${code}`))));
    });
  };
  log.info('creating two clones of shop/orders (jar and exploded)');
  const base = { jvm: { jdwp: { enabled: false } }, ttlMinutes: 30 } as const;
  const [jarClone, dirClone] = await Promise.all([
    createClone(env, { kind: 'Deployment', namespace: ns, name: 'orders' }, resolveOptions({ ...base, appCommand: ordersCommandWithDeployedClasses('/devlane/app.jar'), deploy: { target: '/devlane/app.jar', readinessPort: 8080 } })),
    createClone(env, { kind: 'Deployment', namespace: ns, name: 'orders' }, resolveOptions({ ...base, appCommand: ordersCommandWithDeployedClasses('/devlane/app'), deploy: { target: '/devlane/app', readinessPort: 8080 } })),
  ]);
  for (const c of [jarClone, dirClone]) t.defer(`clone ${c.info.ref.name}`, () => deleteClone(env, ns, c.info.ref.name));
  const deployer = new Deployer(env);

  // --- kubectl cp probe: does it finish at all here? ---
  const probeFile = path.join(tmp, 'probe.bin');
  fs.writeFileSync(probeFile, randomBytes(1_000_000));
  const probeStart = Date.now();
  const cpOutcome = await run(kubectl, ['--kubeconfig', kubeconfigPath, '-n', ns, 'cp', probeFile, `${jarClone.info.ref.name}:/tmp/probe.bin`, '-c', 'orders'], 20_000).then(
    () => `finished in ${((Date.now() - probeStart) / 1000).toFixed(2)} s`,
    (e: unknown) => (Date.now() - probeStart >= 19_000 ? 'did not finish within 20 s (the remote tar never sees the end of stdin)' : `failed: ${e instanceof Error ? e.message : String(e)}`),
  );
  console.log(JSON.stringify({ bench: 'deploy-kubectl-cp-probe', peer: cpOutcome, note: 'hence the peer below is tar | kubectl exec -i with head -c N' }));

  // --- 1. a 50 MB jar ---
  const jarFwd = await forwardToPod(kc, ns, jarClone.info.ref.name, 8080);
  const jarDir = path.join(tmp, 'jar');
  const buildJar = (marker: string) => {
    const classes = buildOrdersWithVersion(jarDir, marker);
    const pad = path.join(classes, 'padding.bin');
    if (!fs.existsSync(pad)) fs.writeFileSync(pad, randomBytes(50 * 1024 * 1024));
    const jar = path.join(tmp, 'orders-bench.jar');
    fs.rmSync(jar, { force: true });
    execFileSync('jar', ['--create', '--no-compress', '--file', jar, '-C', classes, '.']);
    return jar;
  };
  const jarD: number[] = [];
  const jarP: number[] = [];
  const jarName = jarClone.info.ref.name;
  for (let i = 0; i < runs; i++) {
    let jar = buildJar(`jar-devlane-${i}`);
    let t = performance.now();
    await deployer.deploy(ns, jarName, { artifact: jar });
    await serving(jarFwd.port, `jar-devlane-${i}`);
    jarD.push((performance.now() - t) / 1000);

    // The peer's copy goes to /devlane/kc; the supervisor's own switch is set aside meanwhile.
    await kx(jarName, 'mv /devlane/deploy/current /devlane/deploy/current.peer && mkdir -p /devlane/kc && ln -sfn /devlane/kc/orders-bench.jar /devlane/app.jar');
    jar = buildJar(`jar-kubectl-${i}`);
    t = performance.now();
    await peerCopy(jarName, tmp, 'orders-bench.jar', '/devlane/kc');
    await hup(jarName);
    await serving(jarFwd.port, `jar-kubectl-${i}`);
    jarP.push((performance.now() - t) / 1000);
    await kx(jarName, 'mv /devlane/deploy/current.peer /devlane/deploy/current');
    log.info(`jar run ${i + 1}: devlane ${jarD.at(-1)!.toFixed(2)} s, kubectl ${jarP.at(-1)!.toFixed(2)} s`);
  }
  await jarFwd.close();
  const jarSize = fs.statSync(path.join(tmp, 'orders-bench.jar')).size;
  console.log(JSON.stringify({ bench: 'deploy-jar-50mb', devlane: +median(jarD).toFixed(3), peer: +median(jarP).toFixed(3), ratio: +(median(jarD) / median(jarP)).toFixed(3), unit: 's', runs, jarBytes: jarSize, target: 'ratio <= 1.0', peer_is: 'tar | kubectl exec -i (head -c N | tar x) + kubectl exec kill -HUP' }));

  // --- 2. a one-class change in an exploded app ---
  const dirFwd = await forwardToPod(kc, ns, dirClone.info.ref.name, 8080);
  const appDir = path.join(tmp, 'exploded');
  let classes = buildOrdersWithVersion(appDir, 'dir-warmup');
  const statics = path.join(classes, 'static');
  fs.mkdirSync(statics, { recursive: true });
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(statics, `asset-${i}.bin`), randomBytes(16 * 1024));
  const dirName = dirClone.info.ref.name;
  await deployer.deploy(ns, dirName, { artifact: classes });
  await serving(dirFwd.port, 'dir-warmup');
  const classRel = 'dev/devlane/shop/orders/OrdersApp.class';
  const dirD: number[] = [];
  const dirP: number[] = [];
  const sent: number[] = [];
  for (let i = 0; i < runs; i++) {
    classes = buildOrdersWithVersion(appDir, `dir-devlane-${i}`);
    let t = performance.now();
    const r = await deployer.deploy(ns, dirName, { artifact: classes });
    await serving(dirFwd.port, `dir-devlane-${i}`);
    dirD.push((performance.now() - t) / 1000);
    sent.push(r.sentFiles);

    await kx(dirName, 'rm -rf /devlane/kcx && cp -R "$(readlink /devlane/app)" /devlane/kcx && mv /devlane/deploy/current /devlane/deploy/current.peer && ln -sfn /devlane/kcx /devlane/app');
    classes = buildOrdersWithVersion(appDir, `dir-kubectl-${i}`);
    t = performance.now();
    await peerCopy(dirName, classes, classRel, '/devlane/kcx');
    await hup(dirName);
    await serving(dirFwd.port, `dir-kubectl-${i}`);
    dirP.push((performance.now() - t) / 1000);
    await kx(dirName, 'mv /devlane/deploy/current.peer /devlane/deploy/current');
    log.info(`one-class run ${i + 1}: devlane ${dirD.at(-1)!.toFixed(2)} s (${r.sentFiles} file sent), kubectl ${dirP.at(-1)!.toFixed(2)} s`);
  }
  await dirFwd.close();
  console.log(JSON.stringify({ bench: 'deploy-incremental-one-class', devlane: +median(dirD).toFixed(3), peer: +median(dirP).toFixed(3), ratio: +(median(dirD) / median(dirP)).toFixed(3), unit: 's', runs, filesInApp: 301, filesSent: median(sent), target: 'devlane < 1 s to serving', peer_is: 'tar of the changed class | kubectl exec -i + kubectl exec kill -HUP' }));
}

runBench(main);
