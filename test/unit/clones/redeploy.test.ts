import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSavedClones } from '../../../extension/core/clones/config';
import type { DeployResult } from '../../../extension/core/clones/deploy/deploy';
import type { CloneInfo } from '../../../extension/core/clones/lifecycle';
import { redeployTargets, Redeployer, triggerMatches, type RedeployEvent, type RedeployTrigger } from '../../../extension/core/clones/redeploy';
import { resolveOptions } from '../../../extension/core/clones/spec/options';
import { DevlaneError, isDevlaneError } from '../../../extension/core/errors';
import { silentLogger } from '../../../extension/core/log';

const ws = path.join(os.tmpdir(), 'devlane-ws');

function clone(name: string, cloneOf: string, extra: Partial<CloneInfo> = {}): CloneInfo {
  return { ref: { kind: 'Clone', namespace: 'shop', name }, uid: name, phase: 'Running', cloneOf, ownerDisplay: 'me', appContainer: 'app', supervised: true, ready: true, ...extra };
}

const yaml = `version: 1
clones:
  - {namespace: shop, kind: Deployment, name: orders, deploy: {on: save}}
  - {namespace: shop, kind: Deployment, name: inventory, deploy: {on: task}}
  - {namespace: shop, kind: Deployment, name: billing, deploy: {on: task, task: "mvn: package", watch: ["app/**"]}}
  - {namespace: shop, kind: Deployment, name: audit, deploy: {on: save, watch: ["web/*.html"]}}
`;
const entries = readSavedClones(yaml);
const save = (rel: string): RedeployTrigger => ({ kind: 'save', path: path.join(ws, rel) });
const task = (name: string, build = true, exitCode: number | undefined = 0): RedeployTrigger => ({ kind: 'task', name, build, exitCode });

test('a save concerns the workloads that redeploy on save and watch that file', () => {
  const o = (on?: 'save' | 'task' | 'manual', watch?: string[]) => resolveOptions({ deploy: { ...(on ? { on } : {}), ...(watch ? { watch } : {}) } });
  assert.equal(triggerMatches(save('src/main/java/A.java'), o('save'), 'manual', ws), 'saved src/main/java/A.java');
  assert.equal(triggerMatches(save('pom.xml'), o('save'), 'manual', ws), 'saved pom.xml');
  assert.equal(triggerMatches(save('README.md'), o('save'), 'manual', ws), undefined, 'not a build input');
  assert.equal(triggerMatches(save('../other/src/A.java'), o('save'), 'manual', ws), undefined, 'outside the workspace');
  assert.equal(triggerMatches(save('src/A.java'), o(), 'manual', ws), undefined, 'the default mode is the setting: manual');
  assert.equal(triggerMatches(save('src/A.java'), o(), 'save', ws), 'saved src/A.java', 'the setting says save');
  assert.equal(triggerMatches(save('src/A.java'), o('task'), 'save', ws), undefined, 'devlane.yaml wins over the setting');
  assert.equal(triggerMatches(save('web/index.html'), o('save', ['web/*.html']), 'manual', ws), 'saved web/index.html');
  assert.equal(triggerMatches(save('web/sub/index.html'), o('save', ['web/*.html']), 'manual', ws), undefined);
});

test('a task concerns the workloads that redeploy after a task: a build task by default, or the named one; only when it succeeded', () => {
  const o = (task?: string) => resolveOptions({ deploy: { on: 'task', ...(task ? { task } : {}) } });
  assert.equal(triggerMatches(task('mvn: package'), o(), 'manual', ws), 'task "mvn: package"');
  assert.equal(triggerMatches(task('lint', false), o(), 'manual', ws), undefined, 'not a build task');
  assert.equal(triggerMatches(task('mvn: package', true, 1), o(), 'manual', ws), undefined, 'failed');
  assert.equal(triggerMatches({ kind: 'task', name: 'mvn: package', build: true, exitCode: undefined }, o(), 'manual', ws), undefined, 'exit code unknown');
  assert.equal(triggerMatches(task('lint', false), o('lint'), 'manual', ws), 'task "lint"', 'named task, build group or not');
  assert.equal(triggerMatches(task('mvn: package'), o('lint'), 'manual', ws), undefined, 'another task');
  assert.equal(triggerMatches(task('mvn: package'), resolveOptions({ deploy: { on: 'save' } }), 'task', ws), undefined);
});

test('targets: running keep-alive clones of the concerned workloads, not busy ones, each once', () => {
  const clones = [
    clone('orders-a', 'Deployment/orders'),
    clone('orders-b', 'Deployment/orders', { ready: false, phase: 'Pending' }),
    clone('orders-c', 'Deployment/orders', { supervised: false }),
    clone('orders-d', 'Deployment/orders', { reason: 'Terminating' }),
    clone('orders-e', 'Deployment/orders'),
    clone('inventory-a', 'Deployment/inventory'),
    clone('billing-a', 'Deployment/billing'),
    clone('other-a', 'Deployment/other'),
  ];
  const busy = (c: CloneInfo) => c.ref.name === 'orders-e';
  const names = (ts: ReturnType<typeof redeployTargets>) => ts.map((t) => t.clone.ref.name);
  assert.deepEqual(names(redeployTargets([save('src/A.java'), save('src/B.java')], clones, entries, { workspace: ws, defaultOn: 'manual', busy })), ['orders-a']);
  assert.deepEqual(names(redeployTargets([task('build')], clones, entries, { workspace: ws, defaultOn: 'manual' })), ['inventory-a']);
  assert.deepEqual(names(redeployTargets([task('mvn: package')], clones, entries, { workspace: ws, defaultOn: 'manual' })), ['inventory-a', 'billing-a']);
  // A workload without an entry follows the setting (and the options the clone was made with).
  assert.deepEqual(names(redeployTargets([task('build')], clones, entries, { workspace: ws, defaultOn: 'task' })), ['inventory-a', 'other-a']);
  const made = clone('other-b', 'Deployment/other', { options: resolveOptions({ deploy: { on: 'save' } }) });
  assert.deepEqual(names(redeployTargets([save('src/A.java')], [made], entries, { workspace: ws, defaultOn: 'manual' })), ['other-b']);
  // The same workload's entry in another namespace does not apply.
  assert.deepEqual(names(redeployTargets([save('src/A.java')], [{ ...clones[0]!, ref: { kind: 'Clone', namespace: 'dev', name: 'orders-x' } }], entries, { workspace: ws, defaultOn: 'manual' })), []);
});

test('bad redeploy options in devlane.yaml are clear errors', () => {
  assert.throws(() => resolveOptions({ deploy: { on: 'always' as never } }), (e) => isDevlaneError(e) && /deploy.on must be one of save, task, manual/.test(e.message));
  assert.throws(() => resolveOptions({ deploy: { watch: 'src/**' as never } }), (e) => isDevlaneError(e) && /deploy.watch/.test(e.message));
  assert.throws(() => resolveOptions({ deploy: { task: '' } }), (e) => isDevlaneError(e) && /deploy.task/.test(e.message));
});

/** A deploy the test finishes by hand, to hold a run open while more saves arrive. */
class HeldDeploys {
  readonly calls: { clone: string; artifact: string }[] = [];
  private releases: (() => void)[] = [];
  active = 0;
  maxActive = 0;
  failNext: DevlaneError | undefined;
  deploy = (c: CloneInfo, artifact: string): Promise<DeployResult> => {
    this.calls.push({ clone: c.ref.name, artifact });
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    return new Promise((resolve, reject) => {
      this.releases.push(() => {
        this.active--;
        const f = this.failNext;
        this.failNext = undefined;
        if (f) reject(f);
        else resolve({ version: 'v', full: false, sentFiles: 1, sentBytes: 1, deletedFiles: 0, target: '/devlane/app', ms: 1 });
      });
    });
  };
  releaseAll(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

function nextEvent(r: Redeployer, type: RedeployEvent['type']): Promise<RedeployEvent> {
  return new Promise((resolve) => {
    const sub = r.onEvent((e) => {
      if (e.type === type) {
        sub.dispose();
        resolve(e);
      }
    });
  });
}

function workspaceWithJar(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-redeploy-'));
  fs.mkdirSync(path.join(dir, 'target'));
  fs.writeFileSync(path.join(dir, 'target', 'app.jar'), 'jar');
  return dir;
}

test('the scheduler debounces saves, deploys one clone at a time, and folds saves during a deploy into one more run', async (t) => {
  const dir = workspaceWithJar();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const held = new HeldDeploys();
  const clones = [clone('orders-a', 'Deployment/orders'), clone('orders-b', 'Deployment/orders')];
  const r = new Redeployer({ workspace: dir, config: async () => ({ entries, defaultOn: 'manual' }), listClones: async () => clones, deploy: held.deploy, debounceMs: 10, log: silentLogger });
  t.after(() => r.dispose());
  const events: RedeployEvent[] = [];
  r.onEvent((e) => events.push(e));

  // Three quick saves: one run.
  const deploying = nextEvent(r, 'deploying');
  for (const f of ['src/A.java', 'src/B.java', 'src/C.java']) r.trigger({ kind: 'save', path: path.join(dir, f) });
  await deploying;
  assert.equal(held.calls.length, 1, 'one clone at a time');
  // Saves while the deploy runs: kept for one more run.
  for (const f of ['src/D.java', 'src/E.java', 'pom.xml']) r.trigger({ kind: 'save', path: path.join(dir, f) });
  while (!r.idle) {
    held.releaseAll();
    await Promise.race([nextEvent(r, 'deploying'), r.whenIdle()]);
  }
  assert.equal(held.maxActive, 1);
  assert.deepEqual(held.calls.map((c) => c.clone), ['orders-a', 'orders-b', 'orders-a', 'orders-b']);
  assert.ok(held.calls.every((c) => c.artifact === path.join(dir, 'target', 'app.jar')), 'the Maven output');
  const runs = events.filter((e) => e.type === 'run');
  assert.deepEqual(runs.map((e) => e.type === 'run' && e.triggers), [3, 3]);
  assert.equal(events.filter((e) => e.type === 'deployed').length, 4);
});

test('the scheduler ignores what concerns no clone, reports failures as data and goes on with the next clone', async (t) => {
  const dir = workspaceWithJar();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const held = new HeldDeploys();
  const clones = [clone('inventory-a', 'Deployment/inventory'), clone('inventory-b', 'Deployment/inventory')];
  const r = new Redeployer({ workspace: dir, config: async () => ({ entries, defaultOn: 'manual' }), listClones: async () => clones, deploy: held.deploy, debounceMs: 10, log: silentLogger });
  t.after(() => r.dispose());
  const events: RedeployEvent[] = [];
  r.onEvent((e) => events.push(e));

  r.trigger({ kind: 'task', name: 'build', build: true, exitCode: 1 });
  assert.ok(r.idle, 'a failed task does not even start a debounce');
  r.trigger({ kind: 'save', path: path.join(dir, 'src/A.java') });
  await r.whenIdle();
  assert.equal(held.calls.length, 0, 'inventory redeploys after tasks, not on save');
  assert.deepEqual(events.map((e) => e.type), ['run', 'idle']);

  held.failNext = new DevlaneError('deploy-interrupted', 'cut');
  const first = nextEvent(r, 'deploying');
  r.trigger({ kind: 'task', name: 'build', build: true, exitCode: 0 });
  await first;
  const second = nextEvent(r, 'deploying');
  held.releaseAll();
  await second;
  held.releaseAll();
  await r.whenIdle();
  const failed = events.find((e) => e.type === 'failed');
  assert.ok(failed && failed.type === 'failed' && failed.error.reason === 'deploy-interrupted' && failed.target?.clone.ref.name === 'inventory-a');
  assert.ok(events.some((e) => e.type === 'deployed' && e.target.clone.ref.name === 'inventory-b'));

  // No build output: a failure per clone with the reason the deploy command gives.
  fs.rmSync(path.join(dir, 'target'), { recursive: true });
  events.length = 0;
  r.trigger({ kind: 'task', name: 'build', build: true, exitCode: 0 });
  await r.whenIdle();
  const missing = events.filter((e) => e.type === 'failed');
  assert.equal(missing.length, 2);
  assert.ok(missing.every((e) => e.type === 'failed' && e.error.reason === 'artifact-missing'));
});

test('dispose cancels a pending debounce and nothing runs after it', async () => {
  let listed = 0;
  const r = new Redeployer({ workspace: ws, config: async () => ({ entries, defaultOn: 'save' }), listClones: async () => (listed++, []), deploy: () => Promise.reject(new Error('unexpected')), debounceMs: 5, log: silentLogger });
  r.trigger(save('src/A.java'));
  await r.dispose();
  r.trigger(save('src/B.java'));
  assert.ok(r.idle);
  assert.equal(r.status.state, 'stopped');
  await r.whenIdle();
  assert.equal(listed, 0);
});
