import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { forwardToPod, testCluster, testNamespace, waitForPodReady } from '../../support/cluster';
import { waitFor } from '../../support/wait';
import { attach, bundleAdapter, localsOf, startClient, stopQueue, stoppedAt } from './support/adapter';
import { startApiProxy } from './support/apiProxy';
import { httpGet as get, lineContaining, ordersJava, ordersRoot } from './support/orders';

/**
 * The forward to a pod's JVM drops under a live session. The adapter talks to the real API server
 * through a relay the test controls (support/apiProxy.ts), so the test can break exactly the
 * adapter's connections, as a network would, while its own HTTP forward to the app stays up.
 */




async function ordersPod(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: {
        containers: [
          {
            name: 'orders',
            image: 'devlane.local/shop-orders:dev',
            command: ['java', '-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=5005', '-Xmx64m', '-XX:+UseSerialGC', '-cp', '/app/classes', 'dev.devlane.shop.orders.OrdersApp'],
            // Nothing listens there: an order fails fast with 502 once the debugger lets it go.
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
  await waitForPodReady(kc, namespace, name);
}

test('a port-forward that drops while stopped at a breakpoint is re-established: threads reported continued, the breakpoint hits again', async (t) => {
  const { kc, kubeconfigPath } = await testCluster();
  const ns = await testNamespace(kc, 'dbgre');
  t.after(() => ns.dispose());
  const pod = 'orders-reattach';
  await ordersPod(kc, ns.name, pod);
  const proxy = await startApiProxy(kubeconfigPath);
  t.after(() => proxy.close());

  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  const outputs: string[] = [];
  dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output));
  const continued: DebugProtocol.ContinuedEvent[] = [];
  dc.on('continued', (e: DebugProtocol.ContinuedEvent) => continued.push(e));

  await attach(dc, { port: 5005, kubernetes: { kubeconfig: proxy.kubeconfigPath, namespace: ns.name, pod }, sourcePaths: [ordersRoot] });
  const line = lineContaining(ordersJava, 'String item = query(');
  const bps = await dc.setBreakpointsRequest({ source: { path: ordersJava }, breakpoints: [{ line }] });
  assert.equal(bps.body.breakpoints[0]?.verified, true);
  await dc.setExceptionBreakpointsRequest({ filters: [] });
  await dc.configurationDoneRequest();

  // The test's own forward to the app goes straight to the API server: only the adapter's breaks.
  const fwd = await forwardToPod(kc, ns.name, pod, 8080);
  t.after(() => fwd.close());
  const first = get(fwd.port, '/order?item=pear');
  const s = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(s.top.line, line);

  proxy.drop();
  const note = await waitFor('the re-attach note in the Debug Console', () => outputs.find((o) => o.includes('re-attached in')), { timeoutMs: 60_000, intervalMs: 100 });
  assert.match(note, /^Forward dropped; re-attached in \d+ ms\. While no debugger was attached the JVM resumed all threads/);
  t.diagnostic(note.split('.')[0] ?? note);
  assert.equal(continued.length, 1);
  assert.equal(continued[0]?.body.allThreadsContinued, true);
  // The JVM let the stopped request go when the debugger vanished: it finishes without us.
  const r1 = await first;
  assert.equal(r1.status, 502);

  // Same DAP session, breakpoints installed again on the new connection: the next request stops.
  const second = get(fwd.port, '/order?item=plum');
  const again = await stoppedAt(dc, stops, 'breakpoint');
  assert.equal(again.top.line, line);
  assert.equal(again.top.source?.path, ordersJava);
  const locals = await localsOf(dc, again.top.id);
  assert.equal(locals.values.pod, `"${pod}"`);
  await dc.setBreakpointsRequest({ source: { path: ordersJava }, breakpoints: [] });
  await dc.continueRequest({ threadId: again.threadId });
  const r2 = await second;
  assert.equal(r2.status, 502);
  assert.match(r2.body, new RegExp(pod));
  await dc.disconnectRequest({});
});

test('a port-forward that drops after its pod was deleted ends the session with the reason, never a hang', async (t) => {
  const { kc, kubeconfigPath } = await testCluster();
  const ns = await testNamespace(kc, 'dbggone');
  t.after(() => ns.dispose());
  const pod = 'orders-gone';
  await ordersPod(kc, ns.name, pod);
  const proxy = await startApiProxy(kubeconfigPath);
  t.after(() => proxy.close());

  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  const outputs: string[] = [];
  dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output));
  await attach(dc, { port: 5005, kubernetes: { kubeconfig: proxy.kubeconfigPath, namespace: ns.name, pod }, sourcePaths: [ordersRoot] });
  await dc.configurationDoneRequest();
  assert.ok((await dc.threadsRequest()).body.threads.length > 0);

  // The adapter's connections stall first, so it cannot hear the JVM's death; then the pod goes.
  proxy.hold();
  const core = kc.makeApiClient(CoreV1Api);
  await core.deleteNamespacedPod({ name: pod, namespace: ns.name, gracePeriodSeconds: 0 });
  await waitFor(
    `pod ${pod} to be gone from the API`,
    async () => {
      try {
        await core.readNamespacedPod({ name: pod, namespace: ns.name });
        return false;
      } catch (e) {
        return (e as { code?: number }).code === 404;
      }
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  proxy.drop();
  assert.equal(await stops(), 'terminated');
  const text = outputs.join('');
  assert.match(text, /The port-forward to .*orders-gone:5005 dropped and the pod was deleted: the debug session ended/);
  assert.doesNotMatch(text, /re-attached in/);
});

test('a forward that stalls without closing is noticed by the keep-alive; when the JVM still holds the old connection the session ends with the reason', async (t) => {
  const { kc, kubeconfigPath } = await testCluster();
  const ns = await testNamespace(kc, 'dbgstall');
  t.after(() => ns.dispose());
  const pod = 'orders-stall';
  await ordersPod(kc, ns.name, pod);
  const proxy = await startApiProxy(kubeconfigPath);
  t.after(() => proxy.close());

  const adapter = await bundleAdapter();
  t.after(() => adapter.dispose());
  const dc = await startClient(adapter.file);
  t.after(() => dc.stop());
  const stops = stopQueue(dc);
  const outputs: string[] = [];
  dc.on('output', (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output));
  await attach(dc, { port: 5005, kubernetes: { kubeconfig: proxy.kubeconfigPath, namespace: ns.name, pod }, sourcePaths: [ordersRoot], keepAliveMs: 500 });
  await dc.configurationDoneRequest();

  // Nothing flows any more, but nothing closes either: the JVM's side of the old forward stays
  // connected, so it does not listen for a new debugger and every re-attach attempt is refused.
  proxy.hold();
  assert.equal(await stops(), 'terminated');
  const text = outputs.join('');
  assert.match(text, /The port-forward to .*orders-stall:5005 dropped; re-attaching/);
  assert.match(text, /could not be re-established in 3 attempts .*: the debug session ended/s);
});
