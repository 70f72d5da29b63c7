import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { execInPod, forwardToPod, testCluster, testNamespace, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { bundleAdapter, localsOf, startClient, stopQueue, stoppedAt } from './support/adapter';
import { isDevlaneError } from '../../../extension/core/errors';
import { silentLogger } from '../../../extension/core/log';
import { Deployer } from '../../../extension/core/clones/deploy/deploy';
import { createClone, restartApp, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { ServerClock } from '../../../extension/core/clones/serverClock';
import { ownerIdentity } from '../../../extension/core/clones/spec/identity';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { appCommandOf } from '../../../extension/core/clones/spec/supervisor';
import { prepareLaunch, type LaunchRequest } from '../../../extension/debug/launch';
import { launchTargetEnv } from '../../../debug-adapter/dap/types';
import { httpGet as get } from './support/orders';

/**
 * The `launch` flow against the test cluster, without VS Code: F5 creates the clone (saved options
 * plus keep-alive, JDWP, no liveness probe), deploys the workspace's build, waits for JDWP; the
 * adapter started with that target attaches and stops on a request; a second F5 reuses the clone.
 */

const sample = path.resolve(__dirname, '../../../cluster/samples/shop/orders');
const mainClass = 'dev.devlane.shop.orders.OrdersApp';


let kc: KubeConfig;
let kubeconfigPath: string;
let ns: TestNamespace | undefined;
let ws = '';
let env: CloneEnv;
let javaFile = '';

before(async () => {
  ({ kc, kubeconfigPath } = await testCluster());
  ns = await testNamespace(kc, 'dbglaunch');
  const namespace = ns.name;
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'orders', labels: { app: 'orders' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'orders' } },
        template: {
          metadata: { labels: { app: 'orders' } },
          spec: {
            terminationGracePeriodSeconds: 2,
            containers: [
              {
                name: 'orders',
                image: 'devlane.local/shop-orders:dev',
                command: ['java', '-Xmx64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', '/app/classes', mainClass],
                // Nothing listens there: the order fails fast (502) once the debugger lets it go.
                env: [{ name: 'PORT', value: '8080' }, { name: 'INVENTORY_URL', value: 'http://127.0.0.1:1' }],
                ports: [{ name: 'http', containerPort: 8080 }],
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
              },
            ],
          },
        },
      },
    },
  });
  // The developer's project: the sample's sources, built with debug info into target/classes.
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-launch-'));
  fs.cpSync(path.join(sample, 'src'), path.join(ws, 'src'), { recursive: true });
  javaFile = path.join(ws, 'src/main/java/dev/devlane/shop/orders/OrdersApp.java');
  execFileSync('javac', ['-g', '--release', '17', '-d', path.join(ws, 'target/classes'), javaFile], { stdio: 'pipe' });
  fs.writeFileSync(
    path.join(ws, 'devlane.yaml'),
    [
      'clones:',
      `  - namespace: ${namespace}`,
      '    kind: Deployment',
      '    name: orders',
      `    appCommand: [java, -Xmx64m, -XX:+UseSerialGC, -cp, "/devlane/app:/app/classes", ${mainClass}]`,
      '    deploy: {artifact: target/classes, target: /devlane/app, readinessPort: 8080}',
      '',
    ].join('\n'),
  );
  env = { kc, owner: ownerIdentity({ kubeUser: 'it-launch', osUser: 'dev', host: 'ci' }), clock: new ServerClock(kc), log: silentLogger };
});

after(async () => {
  if (ws) fs.rmSync(ws, { recursive: true, force: true });
  await ns?.dispose();
});

const request = (): LaunchRequest => ({ source: { namespace: ns!.name, kind: 'Deployment', name: 'orders' }, workspace: ws });

test('launch: a missing build fails before anything is created, with what to do', async () => {
  await assert.rejects(prepareLaunch(env, new Deployer(env), { ...request(), artifact: 'target/nothing-here.jar' }), (e) => isDevlaneError(e) && e.reason === 'artifact-missing');
  const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns!.name, labelSelector: 'devlane.io/clone=true' });
  assert.equal(pods.items.length, 0);
});

test('launch: creates the clone, deploys, attaches, stops on a request; terminate restarts the app; a second launch reuses the clone', async (t) => {
  const deployer = new Deployer(env);
  const first = await prepareLaunch(env, deployer, request());
  assert.equal(first.created, true);
  assert.equal(first.port, 5005);
  assert.equal(first.deployed?.full, true);
  assert.equal(first.deployed?.target, '/devlane/app');
  const pod = await kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace: first.namespace, name: first.pod });
  const app = pod.spec!.containers.find((c) => c.name === first.container)!;
  assert.equal(app.livenessProbe, undefined, 'no liveness probe: a JVM paused at a breakpoint must not be killed');
  assert.deepEqual(appCommandOf(app.command!), ['java', '-Xmx64m', '-XX:+UseSerialGC', '-cp', '/devlane/app:/app/classes', mainClass]);
  assert.ok(app.env?.find((e) => e.name === 'JAVA_TOOL_OPTIONS')?.value?.includes('-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5005'));

  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const dc = await startClient(adapter.file, { [launchTargetEnv]: JSON.stringify({ kubeconfig: kubeconfigPath, namespace: first.namespace, pod: first.pod, port: first.port }) });
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  const initialized = dc.waitForEvent('initialized');
  const caps = await dc.initializeRequest({ adapterID: 'devlane', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  assert.equal(caps.body?.supportsTerminateRequest, true);
  await dc.launchRequest({ sourcePaths: [path.join(ws, 'src/main/java')] } as DebugProtocol.LaunchRequestArguments);
  await initialized;
  const line = fs.readFileSync(javaFile, 'utf8').split('\n').findIndex((l) => l.includes('if (item.isEmpty())')) + 1;
  const bps = await dc.setBreakpointsRequest({ source: { path: javaFile }, breakpoints: [{ line }] });
  assert.equal(bps.body.breakpoints[0]?.verified, true);
  await dc.configurationDoneRequest();

  const fwd = await forwardToPod(kc, first.namespace, first.pod, 8080);
  t.after(() => fwd.close());
  const response = get(fwd.port, '/order?item=pear');
  let s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.line, line);
  assert.equal(s.top.source?.path, javaFile);
  const locals = await localsOf(dc, s.top.id);
  assert.equal(locals.values.item, '"pear"');
  assert.equal(locals.values.pod, `"${first.pod}"`);
  await dc.nextRequest({ threadId: s.threadId });
  s = await stoppedAt(dc, stops, 'step');
  assert.ok(s.top.line > line, `stepped to line ${s.top.line}`);
  await dc.setBreakpointsRequest({ source: { path: javaFile }, breakpoints: [] });
  await dc.continueRequest({ threadId: s.threadId });
  const r = await response;
  assert.equal(r.status, 502);
  assert.ok(r.body.includes(first.pod), r.body);

  // Stop (terminate): the adapter ends the session; the extension then restarts the app.
  const terminated = stops();
  await dc.terminateRequest({});
  assert.equal(await terminated, 'terminated');
  await dc.disconnectRequest({});
  const runOf = async () => Number((await execInPod(kc, first.namespace, first.pod, first.container, ['cat', '/devlane/app.run'])).stdout.trim().split(' ')[0]);
  const runBefore = await runOf();
  await restartApp(env, first.namespace, first.pod);
  await waitFor('the app to restart', async () => (await runOf()) > runBefore, { timeoutMs: 60_000, intervalMs: 500 });
  await waitFor('the restarted app to serve', async () => (await get(fwd.port, '/healthz', 5_000)).status === 200, { timeoutMs: 60_000, intervalMs: 500 });

  const second = await prepareLaunch(env, deployer, request());
  assert.equal(second.created, false);
  assert.equal(second.pod, first.pod);
  assert.equal(second.deployed?.sentFiles, 0, 'an unchanged build sends nothing');
  await waitFor('the app to answer again', async () => (await get(fwd.port, '/healthz', 5_000)).status === 200, { timeoutMs: 60_000, intervalMs: 500 });
});

test('launch: a clone of the workload made without JDWP is named, with a Delete action, not silently duplicated', async () => {
  const other: CloneEnv = { ...env, owner: ownerIdentity({ kubeUser: 'it-launch', osUser: 'other', host: 'ci' }) };
  const made = await createClone(other, { kind: 'Deployment', namespace: ns!.name, name: 'orders' }, resolveOptions({ startCommand: 'original', jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }), { startTimeoutMs: 120_000 });
  await assert.rejects(prepareLaunch(other, new Deployer(other), request()), (e) => isDevlaneError(e) && e.reason === 'invalid-input' && e.actions.some((a) => a.command === 'devlane.clone.delete') && e.message.includes(made.info.ref.name));
});
