import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { isDevlaneError } from '../../../extension/core/errors';
import { Deployer } from '../../../extension/core/clones/deploy/deploy';
import { createClone, deleteClone, type CloneEnv } from '../../../extension/core/clones/lifecycle';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { waitFor } from '../../support/wait';
import { clusterKc, envFor, makeFixture, type Fixture } from './fixture';
import { httpGetViaPortForward } from './httpViaPortForward';
import { buildOrdersWithVersion, ordersCommandWithDeployedClasses } from './sampleBuild';

let kc: KubeConfig;
let fx: Fixture;
let me: CloneEnv;
let tmp: string;

before(async () => {
  kc = await clusterKc();
  fx = await makeFixture(kc);
  me = envFor(kc, 'alice');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-deploy-it-'));
});

after(async () => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  await fx?.dispose();
});

test('deploy changes what the clone serves: full, incremental, interrupted (previous version keeps serving)', async () => {
  // The exploded app goes to /devlane/app, first on the class path, ahead of the image's classes.
  const options = resolveOptions({ appCommand: ordersCommandWithDeployedClasses('/devlane/app'), deploy: { target: '/devlane/app', readinessPort: 8080 }, jvm: { jdwp: { enabled: false } } });
  const { info } = await createClone(me, { kind: 'Deployment', namespace: fx.namespace, name: 'orders' }, options);
  const name = info.ref.name;
  const get = (p: string) => httpGetViaPortForward(kc, fx.namespace, name, 8080, p);
  try {
    await waitFor('the original app to answer through port-forward', async () => (await get('/healthz')).status === 200, { timeoutMs: 60_000, intervalMs: 500 });
    assert.equal((await get('/version')).status, 404, 'the image has no /version');

    const deployer = new Deployer(me);
    const classes = buildOrdersWithVersion(tmp, 'one');
    fs.mkdirSync(path.join(classes, 'static'));
    fs.writeFileSync(path.join(classes, 'static', 'index.html'), '<h1>orders</h1>');
    const first = await deployer.deploy(fx.namespace, name, { artifact: classes });
    assert.equal(first.full, true);
    assert.equal(first.sentFiles, 2);
    assert.equal(first.target, '/devlane/app');
    assert.deepEqual(await get('/version'), { status: 200, body: 'one' });

    buildOrdersWithVersion(tmp, 'two');
    const second = await deployer.deploy(fx.namespace, name, { artifact: classes });
    assert.equal(second.full, false);
    assert.equal(second.sentFiles, 1, 'only the changed class travels');
    assert.deepEqual(await get('/version'), { status: 200, body: 'two' });

    // A 24 MB resource makes the upload long enough to cut it halfway, deterministically.
    buildOrdersWithVersion(tmp, 'three');
    fs.writeFileSync(path.join(classes, 'big.bin'), randomBytes(24 * 1024 * 1024));
    const ac = new AbortController();
    await assert.rejects(
      deployer.deploy(fx.namespace, name, { artifact: classes, signal: ac.signal, onUpload: (sent, total) => sent > total / 2 && ac.abort() }),
      (e) => isDevlaneError(e) && e.reason === 'cancelled',
    );
    assert.deepEqual(await get('/version'), { status: 200, body: 'two' });

    // The next deploy goes through (an increment against what the clone really has).
    const third = await deployer.deploy(fx.namespace, name, { artifact: classes });
    assert.equal(third.full, false);
    assert.equal(third.sentFiles, 2);
    assert.deepEqual(await get('/version'), { status: 200, body: 'three' });

    // A fresh Deployer (another VS Code window) asks the clone what it has and sends nothing new.
    const cold = await new Deployer(me).deploy(fx.namespace, name, { artifact: classes });
    assert.equal(cold.full, false);
    assert.equal(cold.sentFiles, 0);
    assert.deepEqual(await get('/version'), { status: 200, body: 'three' });

    await assert.rejects(deployer.deploy(fx.namespace, name, { artifact: path.join(tmp, 'no-such.jar') }), (e) => isDevlaneError(e) && e.reason === 'artifact-missing');
  } finally {
    await deleteClone(me, fx.namespace, name);
  }
});
