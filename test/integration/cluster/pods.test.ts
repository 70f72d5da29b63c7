// Pods that really run: processes in their own namespaces, env and volumes, logs (follow and
// previous), restarts, exec, and cleanup on deletion — all through the real API server.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { CoreV1Api, Log, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { execInPod, testCluster, testNamespace, waitForPodPhase, waitForPodReady, type TestNamespace } from '../../support/cluster';
import { waitFor } from '../../support/wait';

const pod = (name: string, script: string, extra: Partial<NonNullable<V1Pod['spec']>> = {}, container: Record<string, unknown> = {}): V1Pod => ({
  metadata: { name, labels: { app: name } },
  spec: { terminationGracePeriodSeconds: 1, ...extra, containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', script], ...container }] },
});

async function readLog(kc: KubeConfig, ns: string, name: string, opts: { follow?: boolean; previous?: boolean }, until?: (text: string) => boolean): Promise<string> {
  let text = '';
  let done!: () => void;
  const ended = new Promise<void>((r) => (done = r));
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      if (until?.(text)) done();
      cb();
    },
    final(cb) {
      done();
      cb();
    },
  });
  const abort = await new Log(kc).log(ns, name, 'main', sink, { follow: opts.follow ?? false, previous: opts.previous ?? false });
  try {
    await waitFor(`the log of ${name}`, async () => {
      await Promise.race([ended, new Promise((r) => setTimeout(r, 200))]);
      return until ? until(text) : sink.writableFinished;
    }, { timeoutMs: 30_000 });
  } finally {
    abort.abort();
  }
  return text;
}

describe('test cluster: pods run as real processes', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let ns: TestNamespace;

  before(async () => {
    ({ kc } = await testCluster());
    core = kc.makeApiClient(CoreV1Api);
    ns = await testNamespace(kc, 'cluster-pods');
  });
  after(async () => {
    await ns?.dispose();
  });

  it('runs the command with env (value, fieldRef, configMap, secret), working dir and volumes', async () => {
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'cfg' }, data: { greeting: 'hello', 'app.conf': 'mode=test\n' } } });
    await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'sec' }, stringData: { token: 's3cret' } } });
    await core.createNamespacedPod({
      namespace: ns.name,
      body: pod(
        'envs',
        'exec sleep 3600',
        {
          volumes: [
            { name: 'conf', configMap: { name: 'cfg' } },
            { name: 'scratch', emptyDir: {} },
          ],
        },
        {
          workingDir: '/devlane/work',
          env: [
            { name: 'PLAIN', value: 'v1' },
            { name: 'EXPANDED', value: '$(PLAIN)-x' },
            { name: 'MY_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
            { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
          ],
          volumeMounts: [
            { name: 'conf', mountPath: '/etc/app', readOnly: true },
            { name: 'scratch', mountPath: '/devlane/scratch' },
          ],
        },
      ),
    });
    const p = await waitForPodReady(kc, ns.name, 'envs');
    const r = await execInPod(kc, ns.name, 'envs', 'main', ['sh', '-c', 'echo "$PLAIN|$EXPANDED|$MY_POD|$MY_IP|$GREETING|$TOKEN|$(pwd)|$(hostname)"; cat /etc/app/app.conf']);
    assert.equal(r.status, 'Success');
    assert.equal(r.stdout, `v1|v1-x|envs|${p.status?.podIP}|hello|s3cret|/devlane/work|envs\nmode=test\n`);
    const ro = await execInPod(kc, ns.name, 'envs', 'main', ['sh', '-c', 'touch /etc/app/x 2>/dev/null && echo writable || echo read-only; echo data > /devlane/scratch/f && cat /devlane/scratch/f']);
    assert.equal(ro.stdout, 'read-only\ndata\n');
  });

  it('gives each pod its own mount, PID and network namespace', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: pod('isolated', 'mkdir -p /devlane && echo mine > /devlane/owner && exec sleep 3600') });
    const p = await waitForPodReady(kc, ns.name, 'isolated');
    // The command writes the file as it starts, a moment after the pod turns Ready.
    const r = await waitFor('the pod to have written /devlane/owner', async () => {
      const x = await execInPod(kc, ns.name, 'isolated', 'main', ['sh', '-c', 'cat /devlane/owner && cat /proc/1/comm; ip -4 -o addr show dev eth0 | wc -l; grep -c nameserver /etc/resolv.conf']);
      return x.stdout.startsWith('mine\nsleep\n') ? x : undefined;
    });
    assert.equal(r.stdout, 'mine\nsleep\n1\n1\n');
    // The host sees none of it: /devlane belongs to the pod's mount namespace.
    assert.equal(fs.existsSync('/devlane/owner'), false);
    const abs = await execInPod(kc, ns.name, 'isolated', 'main', ['/bin/sh', '-c', 'hostname']);
    assert.equal(abs.stdout, `${p.metadata?.name}\n`, 'an absolute /bin/sh runs in the pod too');
  });

  it('reports exec stdout, stderr and a non-zero exit as kwok does', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: pod('exec', 'exec sleep 3600') });
    await waitForPodReady(kc, ns.name, 'exec');
    const ok = await execInPod(kc, ns.name, 'exec', 'main', ['sh', '-c', 'echo out; echo err >&2']);
    assert.deepEqual([ok.stdout, ok.stderr, ok.status], ['out\n', 'err\n', 'Success']);
    const bad = await execInPod(kc, ns.name, 'exec', 'main', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([bad.stdout, bad.stderr, bad.status], ['out\n', 'err\n', 'Failure']);
    // kwok reports no NonZeroExitCode: an InternalError whose message ends in the exit status.
    assert.match(bad.message ?? '', /exit status 3$/);
  });

  it('follows logs as the container writes them', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: pod('ticker', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done') });
    await waitForPodReady(kc, ns.name, 'ticker');
    // Ready comes as the command is exec'd: its first line may be a moment later.
    const first = await waitFor('a first log line', async () => {
      const t = await readLog(kc, ns.name, 'ticker', {});
      return t.includes('\n') ? t : undefined;
    });
    const last = Math.max(...first.trim().split('\n').map((l) => Number(l.split(' ')[1])));
    assert.ok(Number.isInteger(last), `log lines look like "tick N": ${first}`);
    const target = `tick ${last + 5}\n`;
    const followed = await readLog(kc, ns.name, 'ticker', { follow: true }, (t) => t.includes(target));
    assert.ok(followed.startsWith('tick 0\n'));
    assert.ok(followed.includes(target));
  });

  it('restarts a failing container (restartPolicy Always) and serves the previous log', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: pod('crasher', 'echo "run at $(date +%s%N)"; exit 7') });
    const p = await waitFor(
      'a restart of crasher',
      async () => {
        const x = await core.readNamespacedPod({ name: 'crasher', namespace: ns.name });
        const s = x.status?.containerStatuses?.[0];
        return s && s.restartCount >= 1 && s.lastState?.terminated ? x : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const s = p.status?.containerStatuses?.[0];
    assert.equal(s?.lastState?.terminated?.exitCode, 7);
    assert.equal(s?.lastState?.terminated?.reason, 'Error');
    assert.equal(p.status?.phase, 'Running');
    const previous = await readLog(kc, ns.name, 'crasher', { previous: true });
    assert.match(previous, /^run at \d+\n$/);
  });

  it('restarts a container whose liveness probe fails', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: pod('unhealthy', 'touch /tmp/alive; sleep 2; rm /tmp/alive; exec sleep 3600', {}, { livenessProbe: { exec: { command: ['cat', '/tmp/alive'] }, periodSeconds: 1, failureThreshold: 1 } }),
    });
    const p = await waitFor(
      'a liveness restart',
      async () => {
        const x = await core.readNamespacedPod({ name: 'unhealthy', namespace: ns.name });
        return (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? x : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.ok(p.status?.containerStatuses?.[0]?.lastState?.terminated, 'the killed run is the last state');
    const events = await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=unhealthy' });
    assert.ok(events.items.some((e) => e.reason === 'Unhealthy' && (e.message ?? '').startsWith('Liveness')));
  });

  it('runs a restartPolicy Never pod to Succeeded or Failed with its exit code', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: pod('job-ok', 'echo done', { restartPolicy: 'Never' }) });
    await core.createNamespacedPod({ namespace: ns.name, body: pod('job-fail', 'exit 2', { restartPolicy: 'Never' }) });
    const okPod = await waitForPodPhase(kc, ns.name, 'job-ok', ['Succeeded', 'Failed']);
    assert.equal(okPod.status?.phase, 'Succeeded');
    assert.equal(okPod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    const failPod = await waitForPodPhase(kc, ns.name, 'job-fail', ['Succeeded', 'Failed']);
    assert.equal(failPod.status?.phase, 'Failed');
    assert.equal(failPod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 2);
    assert.equal(await readLog(kc, ns.name, 'job-ok', {}), 'done\n');
  });

  it('stops the processes and removes the network namespace of a deleted pod', async () => {
    const marker = `3600.${Date.now() % 100000}`;
    await core.createNamespacedPod({ namespace: ns.name, body: pod('doomed', `exec sleep ${marker}`) });
    const p = await waitForPodReady(kc, ns.name, 'doomed');
    const netns = `/run/netns/dlp-${(p.metadata?.uid ?? '').replace(/-/g, '').slice(0, 12)}`;
    const running = () => fs.readdirSync('/proc').some((d) => {
      try {
        return /^\d+$/.test(d) && fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(`sleep\0${marker}`);
      } catch {
        return false;
      }
    });
    assert.ok(fs.existsSync(netns), `${netns} exists while the pod runs`);
    await waitFor('the container process to run on this machine', running, { timeoutMs: 10_000 });
    await core.deleteNamespacedPod({ name: 'doomed', namespace: ns.name });
    await waitFor('the pod to be gone from the API', async () => {
      try {
        await core.readNamespacedPod({ name: 'doomed', namespace: ns.name });
        return false;
      } catch (e) {
        return (e as { code?: number }).code === 404;
      }
    }, { timeoutMs: 60_000 });
    await waitFor('the process and the network namespace to be gone', () => !running() && !fs.existsSync(netns), { timeoutMs: 30_000 });
  });
});
