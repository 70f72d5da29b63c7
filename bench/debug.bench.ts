/**
 * npm run bench:debug — Devlane's debug adapter against the JDK's jdb on the same program: attach →
 * breakpoints verified, breakpoint hit → stack + top-frame variables, step-over p50, a 200-frame
 * stack (local JVM); then the same on the test cluster, the adapter through its own port-forward and
 * jdb through a client-node port-forward listener (one websocket per connection, like kubectl).
 * Last, F5 with a `launch` configuration on an existing clone (find the clone, check JDWP listens,
 * start the adapter, attach, breakpoint verified) against opening a port-forward and attaching jdb
 * by hand; and the same F5 when it also deploys an unchanged build (which restarts the app).
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { forwardToPod, testNamespace, waitForPodReady, type TestCluster } from '../test/support/cluster';
import { benchCluster } from './support/cluster';
import { performance } from 'node:perf_hooks';
import { attach, bundleAdapter, startClient, stopQueue, stoppedAt } from '../test/integration/debug/support/adapter';
import { Jdb } from '../test/integration/debug/support/jdb';
import { startApiProxy } from '../test/integration/debug/support/apiProxy';
import { lineContaining, ordersJava, ordersRoot } from '../test/integration/debug/support/orders';
import { compileFixtures, fixtureSourceRoot, lineOf, startJvm } from '../test/integration/debug/support/jvm';
import * as os from 'node:os';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { silentLogger } from '../extension/core/log';
import { Deployer } from '../extension/core/clones/deploy/deploy';
import { ServerClock } from '../extension/core/clones/serverClock';
import { ownerIdentity } from '../extension/core/clones/spec/identity';
import { prepareLaunch } from '../extension/debug/launch';
import { launchTargetEnv } from '../debug-adapter/dap/types';
import { runBench, type Teardown } from './support/teardown';

const steps = 15;
const mainJava = path.join(fixtureSourceRoot, 'demo/Main.java');
const loop = lineOf('demo/Main.java', 'loop');
const bottom = lineOf('demo/Main.java', 'bottom');

interface Figures {
  attachMs: number;
  hitToVariablesMs: number;
  stepP50Ms: number;
  stack200Ms: number;
  frames: number;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function devlane(t: Teardown, classesDir: string, adapterFile: string): Promise<Figures> {
  const jvm = await startJvm({ classesDir, mainClass: 'demo.Main', args: ['gate', '200'], suspend: false });
  const stopJvm = t.defer('the local JVM', () => jvm.dispose());
  const dc = await startClient(adapterFile);
  try {
    await jvm.waitForOutput('ready');
    const stops = stopQueue(dc);
    const t0 = performance.now();
    await attach(dc, { port: jvm.port, sourcePaths: [fixtureSourceRoot] });
    const set = await dc.setBreakpointsRequest({ source: { path: mainJava }, breakpoints: [{ line: loop }, { line: bottom }] });
    await dc.configurationDoneRequest();
    const attachMs = performance.now() - t0;
    if (!set.body.breakpoints.every((b) => b.verified)) throw new Error('breakpoints not verified');

    jvm.process.stdin?.write('go\n');
    const ev = await stops();
    const h0 = performance.now();
    if (ev === 'terminated') throw new Error('terminated');
    const threadId = ev.body.threadId as number;
    const st = await dc.stackTraceRequest({ threadId, startFrame: 0, levels: 20 });
    const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0]?.id ?? 0 });
    await dc.variablesRequest({ variablesReference: scopes.body.scopes[0]?.variablesReference ?? 0 });
    const hitToVariablesMs = performance.now() - h0;

    await dc.setBreakpointsRequest({ source: { path: mainJava }, breakpoints: [{ line: bottom }] });
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const s0 = performance.now();
      await dc.nextRequest({ threadId });
      await stoppedAt(dc, stops, 'step');
      times.push(performance.now() - s0);
    }
    await dc.continueRequest({ threadId });
    const deep = await stoppedAt(dc, stops, 'breakpoint');
    const d0 = performance.now();
    const all = await dc.stackTraceRequest({ threadId: deep.threadId });
    const stack200Ms = performance.now() - d0;
    await dc.disconnectRequest({});
    return { attachMs, hitToVariablesMs, stepP50Ms: p50(times), stack200Ms, frames: all.body.stackFrames.length };
  } finally {
    await dc.stop().catch(() => undefined);
    await stopJvm();
  }
}

async function jdbPeer(t: Teardown, classesDir: string): Promise<Figures> {
  const jvm = await startJvm({ classesDir, mainClass: 'demo.Main', args: ['gate', '200'], suspend: false });
  const stopJvm = t.defer('the local JVM', () => jvm.dispose());
  await jvm.waitForOutput('ready');
  const t0 = performance.now();
  const proc = spawn('jdb', ['-attach', `127.0.0.1:${jvm.port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stopJdb = t.defer('jdb', () => proc.kill('SIGKILL'));
  const jdb = new Jdb(proc);
  try {
    await jdb.attached();
    await jdb.set(`stop at demo.Main:${loop}`);
    await jdb.set(`stop at demo.Main:${bottom}`);
    const attachMs = performance.now() - t0;

    jvm.process.stdin?.write('go\n');
    await jdb.waitForHit();
    const h0 = performance.now();
    await jdb.run('where');
    await jdb.run('locals');
    const hitToVariablesMs = performance.now() - h0;

    await jdb.run(`clear demo.Main:${loop}`);
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const s0 = performance.now();
      await jdb.step('next');
      times.push(performance.now() - s0);
    }
    if ((await jdb.cont()) !== 'stopped') throw new Error('jdb: the program ended before the deep breakpoint');
    const d0 = performance.now();
    const where = await jdb.run('where');
    const stack200Ms = performance.now() - d0;
    const frames = where.split('\n').filter((l) => /^\s*\[\d+\]/.test(l)).length;
    return { attachMs, hitToVariablesMs, stepP50Ms: p50(times), stack200Ms, frames };
  } finally {
    await stopJdb();
    await stopJvm();
  }
}

const ordersLine = lineContaining(ordersJava, 'String item = query(');
const clusterSteps = 5;

function order(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/order?item=pear' }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', reject);
  });
}

type ClusterFigures = Omit<Figures, 'stack200Ms' | 'frames'>;

async function clusterRun(t: Teardown, cluster: TestCluster, adapter: { readonly file: string }): Promise<{ ours: ClusterFigures; peer: ClusterFigures }> {
  const { kc, kubeconfigPath } = cluster;
  const ns = await testNamespace(kc, 'dbgbench');
  const deleteNs = t.defer(`namespace ${ns.name}`, () => ns.dispose());
  try {
    const pod = 'orders-debug';
    await kc.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: pod },
        spec: {
          containers: [
            {
              name: 'orders',
              image: 'devlane.local/shop-orders:dev',
              command: ['java', '-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=5005', '-Xmx64m', '-XX:+UseSerialGC', '-cp', '/app/classes', 'dev.devlane.shop.orders.OrdersApp'],
              env: [
                { name: 'PORT', value: '8080' },
                { name: 'INVENTORY_URL', value: 'http://127.0.0.1:1' },
              ],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    await waitForPodReady(kc, ns.name, pod);
    const app = await forwardToPod(kc, ns.name, pod, 8080);
    const jdwp = await forwardToPod(kc, ns.name, pod, 5005);
    try {
      const runOurs = async (): Promise<ClusterFigures> => {
        const dc = await startClient(adapter.file);
        try {
          const stops = stopQueue(dc);
          const t0 = performance.now();
          await attach(dc, { port: 5005, kubernetes: { kubeconfig: kubeconfigPath, namespace: ns.name, pod }, sourcePaths: [ordersRoot] });
          const set = await dc.setBreakpointsRequest({ source: { path: ordersJava }, breakpoints: [{ line: ordersLine }] });
          await dc.configurationDoneRequest();
          const attachMs = performance.now() - t0;
          if (!set.body.breakpoints[0]?.verified) throw new Error('not verified');
          const done = order(app.port);
          const ev = await stops();
          const h0 = performance.now();
          if (ev === 'terminated') throw new Error('terminated');
          const threadId = ev.body.threadId as number;
          const st = await dc.stackTraceRequest({ threadId, startFrame: 0, levels: 20 });
          const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0]?.id ?? 0 });
          await dc.variablesRequest({ variablesReference: scopes.body.scopes[0]?.variablesReference ?? 0 });
          const hitToVariablesMs = performance.now() - h0;
          const times: number[] = [];
          for (let i = 0; i < clusterSteps; i++) {
            const s0 = performance.now();
            await dc.nextRequest({ threadId });
            await stoppedAt(dc, stops, 'step');
            times.push(performance.now() - s0);
          }
          await dc.setBreakpointsRequest({ source: { path: ordersJava }, breakpoints: [] });
          await dc.continueRequest({ threadId });
          await done;
          await dc.disconnectRequest({});
          return { attachMs, hitToVariablesMs, stepP50Ms: p50(times) };
        } finally {
          await dc.stop().catch(() => undefined);
        }
      };
      const runPeer = async (): Promise<ClusterFigures> => {
        const t0 = performance.now();
        const proc = spawn('jdb', ['-attach', `127.0.0.1:${jdwp.port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
        const stopJdb = t.defer('jdb', () => proc.kill('SIGKILL'));
        const jdb = new Jdb(proc);
        try {
          await jdb.attached();
          await jdb.set(`stop at dev.devlane.shop.orders.OrdersApp:${ordersLine}`);
          const attachMs = performance.now() - t0;
          const done = order(app.port);
          await jdb.waitForHit();
          const h0 = performance.now();
          await jdb.run('where');
          await jdb.run('locals');
          const hitToVariablesMs = performance.now() - h0;
          const times: number[] = [];
          for (let i = 0; i < clusterSteps; i++) {
            const s0 = performance.now();
            await jdb.step('next');
            times.push(performance.now() - s0);
          }
          await jdb.run(`clear dev.devlane.shop.orders.OrdersApp:${ordersLine}`);
          proc.stdin?.write('cont\n');
          await done;
          return { attachMs, hitToVariablesMs, stepP50Ms: p50(times) };
        } finally {
          await stopJdb();
        }
      };
      // The agent listens again after each debugger leaves (same port inside the pod).
      await runOurs();
      await waitForJdwp(jdwp.port);
      await runPeer();
      await waitForJdwp(jdwp.port);
      const ours = await runOurs();
      await waitForJdwp(jdwp.port);
      const peer = await runPeer();
      return { ours, peer };
    } finally {
      await app.close();
      await jdwp.close();
    }
  } finally {
    await deleteNs();
  }
}

/**
 * A forward dropped under a live session: from the drop to "re-attached" with the breakpoint installed
 * again (the adapter's connections break at an API-server relay), against what a jdb user does by
 * hand once the JVM listens again: a new port-forward, jdb -attach, stop at.
 */
async function reattachRun(t: Teardown, cluster: TestCluster, adapter: { readonly file: string }): Promise<{ oursMs: number[]; peerMs: number[] }> {
  const { kc, kubeconfigPath } = cluster;
  const ns = await testNamespace(kc, 'dbgrbench');
  const deleteNs = t.defer(`namespace ${ns.name}`, () => ns.dispose());
  const proxy = await startApiProxy(kubeconfigPath);
  const closeProxy = t.defer('the API-server relay', () => proxy.close());
  try {
    const pod = 'orders-reattach';
    await kc.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: pod },
        spec: {
          containers: [
            {
              name: 'orders',
              image: 'devlane.local/shop-orders:dev',
              command: ['java', '-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=5005', '-Xmx64m', '-XX:+UseSerialGC', '-cp', '/app/classes', 'dev.devlane.shop.orders.OrdersApp'],
              env: [{ name: 'PORT', value: '8080' }],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    await waitForPodReady(kc, ns.name, pod);
    const oursMs: number[] = [];
    const dc = await startClient(adapter.file);
    try {
      let onNote: ((ms: number) => void) | undefined;
      dc.on('output', (e: DebugProtocol.OutputEvent) => {
        if (e.body.output.includes('re-attached in')) onNote?.(performance.now());
      });
      await attach(dc, { port: 5005, kubernetes: { kubeconfig: proxy.kubeconfigPath, namespace: ns.name, pod }, sourcePaths: [ordersRoot] });
      const set = await dc.setBreakpointsRequest({ source: { path: ordersJava }, breakpoints: [{ line: ordersLine }] });
      await dc.configurationDoneRequest();
      if (!set.body.breakpoints[0]?.verified) throw new Error('not verified');
      for (let i = 0; i < 3; i++) {
        const noted = new Promise<number>((resolve) => (onNote = resolve));
        const t0 = performance.now();
        proxy.drop();
        oursMs.push((await noted) - t0);
      }
      await dc.disconnectRequest({});
    } finally {
      await dc.stop().catch(() => undefined);
    }
    const peerMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const probe = await forwardToPod(kc, ns.name, pod, 5005);
      await waitForJdwp(probe.port);
      await probe.close();
      const t0 = performance.now();
      const fwd = await forwardToPod(kc, ns.name, pod, 5005);
      const proc = spawn('jdb', ['-attach', `127.0.0.1:${fwd.port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
      const stopJdb = t.defer('jdb', () => proc.kill('SIGKILL'));
      const jdb = new Jdb(proc);
      try {
        await jdb.attached();
        await jdb.set(`stop at dev.devlane.shop.orders.OrdersApp:${ordersLine}`);
        peerMs.push(performance.now() - t0);
      } finally {
        await stopJdb();
        await fwd.close();
      }
    }
    return { oursMs, peerMs };
  } finally {
    await closeProxy();
    await deleteNs();
  }
}

/** After a debugger detaches the agent needs a moment to listen again; probe with a real handshake. */
async function waitForJdwp(port: number): Promise<void> {
  const { JdwpClient } = await import('../debug-adapter/jdwp/client');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const c = await JdwpClient.connect({ host: '127.0.0.1', port, handshakeTimeoutMs: 5_000 });
      await c.disposeVm();
      c.dispose();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}


/** F5 (launch) on an existing clone, through the same code the extension runs, against jdb by hand. */
async function launchRun(t: Teardown, cluster: TestCluster, adapter: { readonly file: string }): Promise<{ reuseMs: number; peerMs: number; redeployMs: number }> {
  const { kc, kubeconfigPath } = cluster;
  const ns = await testNamespace(kc, 'dbglbench');
  const deleteNs = t.defer(`namespace ${ns.name}`, () => ns.dispose());
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-launch-bench-'));
  const removeWs = t.defer(ws, () => fs.rmSync(ws, { recursive: true, force: true }));
  try {
    const mainClass = 'dev.devlane.shop.orders.OrdersApp';
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'orders' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'orders' } },
          template: {
            metadata: { labels: { app: 'orders' } },
            spec: { containers: [{ name: 'orders', image: 'devlane.local/shop-orders:dev', command: ['java', '-Xmx64m', '-XX:+UseSerialGC', '-cp', '/app/classes', mainClass], env: [{ name: 'PORT', value: '8080' }], ports: [{ name: 'http', containerPort: 8080 }] }] },
          },
        },
      },
    });
    fs.cpSync(path.resolve(ordersRoot, '..', '..', '..', 'src'), path.join(ws, 'src'), { recursive: true });
    const javaFile = path.join(ws, 'src/main/java/dev/devlane/shop/orders/OrdersApp.java');
    execFileSync('javac', ['-g', '--release', '17', '-d', path.join(ws, 'target/classes'), javaFile], { stdio: 'pipe' });
    fs.writeFileSync(
      path.join(ws, 'devlane.yaml'),
      `clones:\n  - {namespace: ${ns.name}, kind: Deployment, name: orders, appCommand: [java, -Xmx64m, -XX:+UseSerialGC, -cp, "/devlane/app:/app/classes", ${mainClass}], deploy: {artifact: target/classes, target: /devlane/app, readinessPort: 8080}}\n`,
    );
    const env = { kc, owner: ownerIdentity({ kubeUser: 'bench', osUser: 'bench', host: 'bench' }), clock: new ServerClock(kc), log: silentLogger };
    const deployer = new Deployer(env);
    const source = { namespace: ns.name, kind: 'Deployment' as const, name: 'orders' };
    const first = await prepareLaunch(env, deployer, { source, workspace: ws });
    const f5 = async (artifact?: false): Promise<number> => {
      const t0 = performance.now();
      const target = await prepareLaunch(env, deployer, { source, workspace: ws, ...(artifact === false ? { artifact } : {}) });
      const dc = await startClient(adapter.file, { [launchTargetEnv]: JSON.stringify({ kubeconfig: kubeconfigPath, namespace: target.namespace, pod: target.pod, port: target.port }) });
      try {
        const initialized = dc.waitForEvent('initialized');
        await dc.initializeRequest({ adapterID: 'devlane', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
        await dc.launchRequest({ sourcePaths: [path.join(ws, 'src/main/java')] } as DebugProtocol.LaunchRequestArguments);
        await initialized;
        const set = await dc.setBreakpointsRequest({ source: { path: javaFile }, breakpoints: [{ line: ordersLine }] });
        await dc.configurationDoneRequest();
        if (!set.body.breakpoints[0]?.verified) throw new Error('not verified');
        const ms = performance.now() - t0;
        await dc.disconnectRequest({});
        return ms;
      } finally {
        await dc.stop().catch(() => undefined);
      }
    };
    const peer = async (): Promise<number> => {
      const t0 = performance.now();
      const fwd = await forwardToPod(kc, first.namespace, first.pod, first.port);
      const proc = spawn('jdb', ['-attach', `127.0.0.1:${fwd.port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
      const stopJdb = t.defer('jdb', () => proc.kill('SIGKILL'));
      const jdb = new Jdb(proc);
      try {
        await jdb.attached();
        await jdb.set(`stop at ${mainClass}:${ordersLine}`);
        return performance.now() - t0;
      } finally {
        await stopJdb();
        await fwd.close();
      }
    };
    const waitListening = () => prepareLaunch(env, deployer, { source, workspace: ws, artifact: false });
    await f5(false);
    await waitListening();
    const reuse: number[] = [];
    const peers: number[] = [];
    for (let i = 0; i < 3; i++) {
      reuse.push(await f5(false));
      await waitListening();
      peers.push(await peer());
      await waitListening();
    }
    const redeployMs = await f5();
    return { reuseMs: p50(reuse), peerMs: p50(peers), redeployMs };
  } finally {
    await removeWs();
    await deleteNs();
  }
}

async function main(t: Teardown): Promise<void> {
  const fx = compileFixtures();
  t.defer('the compiled fixtures', () => fx.dispose());
  const adapter = await bundleAdapter();
  t.defer('the adapter bundle', () => adapter.dispose());
  // One warm-up run each so neither side pays for cold class loading in the figures.
  await devlane(t, fx.classesDir, adapter.file);
  await jdbPeer(t, fx.classesDir);
  const ours = await devlane(t, fx.classesDir, adapter.file);
  const peer = await jdbPeer(t, fx.classesDir);
  const line = (bench: string, d: number, p: number, extra: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({ bench, devlane: Math.round(d * 10) / 10, peer: Math.round(p * 10) / 10, ratio: Math.round((d / p) * 100) / 100, unit: 'ms', ...extra }));
  line('debug-attach-verified', ours.attachMs, peer.attachMs, { target: 'local JVM' });
  line('debug-hit-stack-variables', ours.hitToVariablesMs, peer.hitToVariablesMs);
  line('debug-step-over-p50', ours.stepP50Ms, peer.stepP50Ms, { steps });
  line('debug-stack-200', ours.stack200Ms, peer.stack200Ms, { framesDevlane: ours.frames, framesPeer: peer.frames });
  const cluster = await benchCluster(t);
  const c = await clusterRun(t, cluster, adapter);
  line('debug-cluster-attach-verified', c.ours.attachMs, c.peer.attachMs, { target: 'test cluster pod via port-forward' });
  line('debug-cluster-hit-stack-variables', c.ours.hitToVariablesMs, c.peer.hitToVariablesMs);
  line('debug-cluster-step-over-p50', c.ours.stepP50Ms, c.peer.stepP50Ms, { steps: clusterSteps });
  const r = await reattachRun(t, cluster, adapter);
  line('debug-forward-dropped-reattached-p50', p50(r.oursMs), p50(r.peerMs), { target: 'drop → re-attached with breakpoints (automatic, incl. 300 ms back-off) vs new port-forward + jdb attach + stop at (by hand, not counting noticing the drop)', drops: r.oursMs.length });
  const l = await launchRun(t, cluster, adapter);
  line('debug-launch-existing-clone-verified', l.reuseMs, l.peerMs, { target: 'F5 launch on an existing clone (no deploy) vs port-forward + jdb attach + stop at', devlaneWithUnchangedDeployMs: Math.round(l.redeployMs) });
}

runBench(main);
