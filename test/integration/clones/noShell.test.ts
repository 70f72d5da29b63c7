import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { isDevlaneError } from '../../../extension/core/errors';
import { cloneLabels } from '../../../extension/core/clones/labels';
import { createClone, deleteClone, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, type Fixture } from './fixture';

/**
 * An image without /bin/sh (distroless): the keep-alive supervisor cannot start. Pods of the test
 * cluster see the host's binaries, so the source hides the shell the way such an image lacks it:
 * a non-executable file mounted over /usr/bin/sh (which /bin/sh reaches on Debian). The workload
 * itself runs fine, as a distroless app does: its command needs no shell.
 */
let kc: KubeConfig;
let fx: Fixture;
let me: CloneEnv;
const source = () => ({ kind: 'Deployment' as const, namespace: fx.namespace, name: 'distroless' });

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc, { orders: false });
  me = envFor(kc, 'frank');
  await fx.core.createNamespacedConfigMap({ namespace: fx.namespace, body: { metadata: { name: 'no-shell' }, data: { sh: 'this is not a shell\n' } } });
  await fx.apps.createNamespacedDeployment({
    namespace: fx.namespace,
    body: {
      metadata: { name: 'distroless' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'distroless' } },
        template: {
          metadata: { labels: { app: 'distroless' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], volumeMounts: [{ name: 'hide-shell', mountPath: '/usr/bin/sh', subPath: 'sh' }] }],
            volumes: [{ name: 'hide-shell', configMap: { name: 'no-shell', defaultMode: 0o644 } }],
          },
        },
      },
    },
  });
  await waitFor('the distroless workload to run', async () => (await fx.apps.readNamespacedDeployment({ name: 'distroless', namespace: fx.namespace })).status?.readyReplicas === 1 || undefined, { timeoutMs: 120_000, intervalMs: 500 });
});

after(async () => {
  await fx?.dispose();
});

async function clonePods(): Promise<string[]> {
  const pods = await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `${cloneLabels.clone}=true` });
  return pods.items.map((p) => p.metadata!.name!);
}

test('no /bin/sh in the image: keep-alive fails with an explanation and the offer of the original command, and nothing is left behind', async () => {
  await assert.rejects(createClone(me, source(), resolveOptions({ jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }), { startTimeoutMs: 120_000 }), (e) => {
    assert.ok(isDevlaneError(e), String(e));
    assert.equal(e.reason, 'no-shell');
    assert.match(e.message, /could not start the keep-alive supervisor/);
    assert.match(e.message, /no \/bin\/sh/);
    assert.match(e.message, /original start command/);
    assert.deepEqual(e.actions.map((a) => [a.title, a.command, a.args]), [['Clone with Original Command', 'devlane.clone.create', [source()]]]);
    return true;
  });
  // Rolled back: no clone pod, not even a terminating one, once the runner finished.
  await waitFor('the failed clone to be deleted', async () => (await clonePods()).length === 0 || undefined, { timeoutMs: 60_000, intervalMs: 250 });

  // The offered way out works: the original command needs no shell.
  const { info, pod } = await createClone(me, source(), resolveOptions({ startCommand: 'original', jvm: { jdwp: { enabled: false }, heapDumpOnOom: false } }));
  try {
    assert.equal(info.phase, 'Running');
    assert.equal(info.supervised, false);
    assert.deepEqual(pod.spec!.containers[0]!.command, ['sleep', '3600']);
  } finally {
    await deleteClone(me, fx.namespace, info.ref.name);
  }
});
