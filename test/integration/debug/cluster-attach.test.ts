import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { forwardToPod, testCluster, testNamespace, waitForPodReady } from '../../support/cluster';
import { attach, bundleAdapter, localsOf, startClient, stopQueue, stoppedAt } from './support/adapter';
import { discoverJdwpPort, jdwpPortOf } from '../../../debug-adapter/kube/jdwpPort';
import { httpGet as get, lineContaining, ordersJava, ordersRoot } from './support/orders';




test('DAP over a port-forward: a request to the pod stops on the breakpoint, variables, step, continue finishes the request', async (t) => {
  const { kc, kubeconfigPath } = await testCluster();
  const ns = await testNamespace(kc, 'dbg');
  t.after(() => ns.dispose());
  const pod = 'orders-debug';
  await kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace: ns.name,
    body: {
      metadata: { name: pod, labels: { app: 'orders' } },
      spec: {
        containers: [
          {
            name: 'orders',
            image: 'devlane.local/shop-orders:dev',
            command: ['java', '-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=5005', '-Xmx64m', '-XX:+UseSerialGC', '-cp', '/app/classes', 'dev.devlane.shop.orders.OrdersApp'],
            // Nothing listens there: the order fails fast with 502 after the debugger lets it go.
            env: [
              { name: 'PORT', value: '8080' },
              { name: 'INVENTORY_URL', value: 'http://127.0.0.1:1' },
            ],
            ports: [
              { name: 'http', containerPort: 8080 },
              { name: 'jdwp', containerPort: 5005 },
            ],
            readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  await waitForPodReady(kc, ns.name, pod);

  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  await attach(dc, { port: 5005, kubernetes: { kubeconfig: kubeconfigPath, namespace: ns.name, pod }, sourcePaths: [ordersRoot] });
  const line = lineContaining(ordersJava, 'String item = query(');
  const bps = await dc.setBreakpointsRequest({ source: { path: ordersJava }, breakpoints: [{ line }] });
  assert.equal(bps.body.breakpoints[0]?.verified, true);
  await dc.configurationDoneRequest();

  const fwd = await forwardToPod(kc, ns.name, pod, 8080);
  t.after(() => fwd.close());
  const response = get(fwd.port, '/order?item=pear');
  let s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.name, 'OrdersApp.handleOrder');
  assert.equal(s.top.line, line);
  assert.equal(s.top.source?.path, ordersJava);
  let locals = await localsOf(dc, s.top.id);
  assert.equal(locals.values.inventory, '"http://127.0.0.1:1"');
  assert.equal(locals.values.pod, `"${pod}"`);

  await dc.nextRequest({ threadId: s.threadId });
  s = await stoppedAt(dc, stops, 'step');
  locals = await localsOf(dc, s.top.id);
  assert.equal(locals.values.item, '"pear"');

  await dc.setBreakpointsRequest({ source: { path: ordersJava }, breakpoints: [] });
  await dc.continueRequest({ threadId: s.threadId });
  const r = await response;
  assert.equal(r.status, 502);
  assert.match(r.body, new RegExp(pod));
  await dc.disconnectRequest({});
});

test('DAP over a port-forward: the pod going away ends the session with a message (JVM exit or dropped forward), never a hang', async (t) => {
  const { kc, kubeconfigPath } = await testCluster();
  const ns = await testNamespace(kc, 'dbgdrop');
  t.after(() => ns.dispose());
  const pod = 'orders-drop';
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: ns.name,
    body: {
      metadata: { name: pod },
      spec: {
        containers: [
          {
            name: 'orders',
            image: 'devlane.local/shop-orders:dev',
            command: ['java', '-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=5005', '-Xmx64m', '-cp', '/app/classes', 'dev.devlane.shop.orders.OrdersApp'],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  await waitForPodReady(kc, ns.name, pod);
  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  const outputs: string[] = [];
  dc.on('output', (e: { body: { output: string } }) => outputs.push(e.body.output));
  await attach(dc, { port: 5005, kubernetes: { kubeconfig: kubeconfigPath, namespace: ns.name, pod }, sourcePaths: [ordersRoot], keepAliveMs: 500 });
  await dc.configurationDoneRequest();
  assert.ok((await dc.threadsRequest()).body.threads.length > 0);
  await core.deleteNamespacedPod({ name: pod, namespace: ns.name, gracePeriodSeconds: 0 });
  assert.equal(await stops(), 'terminated');
  assert.ok(outputs.some((o) => /JVM exited|closed the debug connection|connection to the JVM failed|port-forward/.test(o)), outputs.join(''));
});

test('the JDWP port of a pod whose options are not in its spec is read from the container\'s PID 1', async (t) => {
  const { kc } = await testCluster();
  const ns = await testNamespace(kc, 'dbgport');
  t.after(() => ns.dispose());
  const core = kc.makeApiClient(CoreV1Api);
  // The agent option reaches the JVM through a wrapper, as an image's ENV or entrypoint would: the
  // pod spec itself never mentions -agentlib:jdwp.
  const created = await core.createNamespacedPod({
    namespace: ns.name,
    body: {
      metadata: { name: 'wrapped' },
      spec: {
        containers: [
          {
            name: 'orders',
            image: 'devlane.local/shop-orders:dev',
            command: ['sh', '-c', 'exec env JAVA_TOOL_OPTIONS="-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=$DBG_PORT" java -Xmx64m -cp /app/classes dev.devlane.shop.orders.OrdersApp'],
            env: [{ name: 'DBG_PORT', value: '5011' }],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  await waitForPodReady(kc, ns.name, 'wrapped');
  assert.equal(jdwpPortOf(created), undefined);
  assert.equal(await discoverJdwpPort(kc, created), 5011);
});
