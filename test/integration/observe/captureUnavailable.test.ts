import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { CaptureSession, enableSidecarHelp } from '../../../extension/core/observe/capture';
import { DevlaneError } from '../../../extension/core/errors';
import { silentLogger } from '../../../extension/core/log';
import { testCluster, testNamespace, waitForPodReady, type TestNamespace } from '../../support/cluster';

/**
 * A pod whose image has no tcpdump: the capture says so and how to get one (the sidecar), and
 * leaves nothing running. Pods of the test cluster see the host's binaries, so the test hides
 * tcpdump the way an image without it would: a file mounted over it that is not tcpdump.
 */
let ns: TestNamespace;
before(async () => {
  const { kc } = await testCluster();
  ns = await testNamespace(kc, 'nocap');
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'no-tcpdump' }, data: { tcpdump: '#!/bin/sh\necho "tcpdump: not found" >&2\nexit 127\n' } } });
  await core.createNamespacedPod({
    namespace: ns.name,
    body: {
      metadata: { name: 'slim' },
      spec: {
        containers: [{ name: 'app', image: 'node', command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'], volumeMounts: [{ name: 'hide', mountPath: '/usr/bin/tcpdump', subPath: 'tcpdump' }] }],
        volumes: [{ name: 'hide', configMap: { name: 'no-tcpdump', defaultMode: 0o755 } }],
      },
    },
  });
  await waitForPodReady(kc, ns.name, 'slim');
});
after(() => ns?.dispose());

test('no tcpdump in any container: a clear error that says how to enable the capture sidecar', async () => {
  const { kc } = await testCluster();
  const cap = new CaptureSession(kc, { namespace: ns.name, pod: 'slim', filter: 'tcp' }, silentLogger);
  try {
    await assert.rejects(cap.start(), (e: unknown) => {
      assert.ok(e instanceof DevlaneError, String(e));
      assert.equal(e.reason, 'capture-unavailable');
      assert.equal(e.message, enableSidecarHelp);
      assert.match(e.message, /devlane-capture sidecar/);
      return true;
    });
    assert.notEqual(cap.status.state, 'running');
  } finally {
    await cap.dispose();
  }
});
