import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { readSavedClones } from '../../../extension/core/clones/config';
import { Deployer } from '../../../extension/core/clones/deploy/deploy';
import { execIn } from '../../../extension/core/kube/exec';
import { createClone, deleteClone, listClones, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { Redeployer, type RedeployEvent } from '../../../extension/core/clones/redeploy';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { silentLogger } from '../../../extension/core/log';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, type Fixture } from './fixture';
import { httpGetViaPortForward } from './httpViaPortForward';
import { buildOrdersWithVersion, ordersCommandWithDeployedClasses } from './sampleBuild';

let kc: KubeConfig;
let fx: Fixture;
let me: CloneEnv;
let ws: string;

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc);
  me = envFor(kc, 'carol');
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-redeploy-it-'));
});

after(async () => {
  if (ws) fs.rmSync(ws, { recursive: true, force: true });
  await fx?.dispose();
});

/** devlane.yaml of the workspace: orders redeploys `on` save or task, its classes folder to /devlane/app. */
function writeYaml(on: 'save' | 'task'): void {
  const text = [
    'version: 1',
    'clones:',
    `  - namespace: ${fx.namespace}`,
    '    kind: Deployment',
    '    name: orders',
    `    appCommand: [${ordersCommandWithDeployedClasses('/devlane/app').join(', ')}]`,
    '    jvm: {jdwp: {enabled: false}}',
    `    deploy: {artifact: classes, target: /devlane/app, readinessPort: 8080, on: ${on}}`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(ws, 'devlane.yaml'), text);
}

function until(r: Redeployer, type: RedeployEvent['type'], timeoutMs = 120_000): Promise<RedeployEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${type}" event within ${timeoutMs} ms`)), timeoutMs);
    const sub = r.onEvent((e) => {
      if (e.type === type || (e.type === 'failed' && type !== 'failed')) {
        clearTimeout(t);
        sub.dispose();
        if (e.type === 'failed' && type !== 'failed') reject(e.error);
        else resolve(e);
      }
    });
  });
}

test('a save or a build task redeploys to my running clone of the workload, which then serves the new build', async () => {
  writeYaml('save');
  const entry = readSavedClones(fs.readFileSync(path.join(ws, 'devlane.yaml'), 'utf8'))[0]!;
  const { info } = await createClone(me, { kind: 'Deployment', namespace: fx.namespace, name: 'orders' }, resolveOptions(entry.options));
  const name = info.ref.name;
  const get = (p: string) => httpGetViaPortForward(kc, fx.namespace, name, 8080, p);
  const appRun = async () => Number((await execIn(kc, fx.namespace, name, 'orders', ['cat', '/devlane/app.run'], { timeoutMs: 20_000 })).stdout.toString().split(' ')[0]);
  const deployer = new Deployer(me);
  const r = new Redeployer({
    workspace: ws,
    config: async () => ({ entries: readSavedClones(fs.readFileSync(path.join(ws, 'devlane.yaml'), 'utf8')), defaultOn: 'manual' }),
    listClones: () => listClones(me, [fx.namespace]),
    deploy: (c, artifact, signal) => deployer.deploy(c.ref.namespace, c.ref.name, { artifact, signal, skipIfUnchanged: true }),
    debounceMs: 200,
    log: silentLogger,
  });
  const events: RedeployEvent[] = [];
  r.onEvent((e) => events.push(e));
  const source = path.join(ws, 'src', 'dev', 'devlane', 'shop', 'orders', 'OrdersApp.java');
  try {
    await waitFor('the original app to answer through port-forward', async () => (await get('/healthz')).status === 200, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal((await get('/version')).status, 404);

    // on: save — a save of a build input redeploys.
    buildOrdersWithVersion(ws, 'one');
    let done = until(r, 'deployed');
    r.trigger({ kind: 'save', path: source });
    const one = await done;
    assert.ok(one.type === 'deployed' && one.target.clone.ref.name === name && one.target.because === 'saved src/dev/devlane/shop/orders/OrdersApp.java');
    assert.ok(one.type === 'deployed' && one.result.full && one.artifact === path.join(ws, 'classes'));
    assert.deepEqual(await get('/version'), { status: 200, body: 'one' });

    // A save that built nothing new neither sends nor restarts.
    const runBefore = await appRun();
    done = until(r, 'deployed');
    r.trigger({ kind: 'save', path: source });
    const same = await done;
    assert.ok(same.type === 'deployed' && same.result.unchanged === true);
    assert.equal(await appRun(), runBefore);

    // on: task — a save no longer redeploys, a failed task neither; a successful build task does.
    writeYaml('task');
    buildOrdersWithVersion(ws, 'two');
    events.length = 0;
    r.trigger({ kind: 'save', path: source });
    r.trigger({ kind: 'task', name: 'javac', build: true, exitCode: 1 });
    await r.whenIdle();
    assert.deepEqual(events.map((e) => (e.type === 'run' ? `run ${e.targets}` : e.type)), ['run 0', 'idle']);
    assert.equal((await get('/version')).body, 'one');
    done = until(r, 'deployed');
    r.trigger({ kind: 'task', name: 'javac', build: true, exitCode: 0 });
    const two = await done;
    assert.ok(two.type === 'deployed' && !two.result.unchanged && two.result.sentFiles === 1);
    assert.deepEqual(await get('/version'), { status: 200, body: 'two' });

    // Builds during a deploy: one more run after it, with the newest build.
    buildOrdersWithVersion(ws, 'three');
    events.length = 0;
    const deploying = until(r, 'deploying');
    r.trigger({ kind: 'task', name: 'javac', build: true, exitCode: 0 });
    await deploying;
    buildOrdersWithVersion(ws, 'four');
    r.trigger({ kind: 'task', name: 'javac', build: true, exitCode: 0 });
    r.trigger({ kind: 'task', name: 'javac', build: true, exitCode: 0 });
    await waitFor('the redeploys to settle', () => r.idle || undefined, { timeoutMs: 240_000, intervalMs: 200 });
    assert.equal(events.filter((e) => e.type === 'run').length, 2, events.map((e) => e.type).join(','));
    assert.deepEqual(await get('/version'), { status: 200, body: 'four' });
  } finally {
    await r.dispose();
    await deleteClone(me, fx.namespace, name);
  }
});
