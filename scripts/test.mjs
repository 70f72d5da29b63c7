// `npm test`: every tier, on a fresh clone too. Installs what is missing, checks types and lint,
// builds and packs the VSIX, brings the test cluster up once (binaries built once and cached),
// runs unit → integration → real-VS-Code tests with node:test, and always tears the cluster down.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureClusterBinaries, ensureCodeServer, ensureDebianPackages, ensureNodeModules, ensureRegistryPeers, root } from './setup.mjs';

const step = (name) => console.log(`\n== ${name}`);
const node = (args, opts = {}) => spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', ...opts });
const must = (name, r) => {
  if (r.status !== 0) {
    console.error(`${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
};

step('set-up');
ensureDebianPackages();
ensureNodeModules();
process.env.DEVLANE_CODE_SERVER = ensureCodeServer();
// Built here rather than inside a test: a cold build takes ~15 min (Consul from Go modules).
ensureRegistryPeers();

step('typecheck');
must('tsc', node([path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', '.']));
step('lint');
must('eslint', node([path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--max-warnings', '0', '.']));
step('build and package');
must('package', node([path.join(root, 'scripts', 'package.mjs')]));

const tiers = ['unit', 'integration', 'vscode'];
const files = tiers.flatMap((t) => testFiles(path.join(root, 'test', t)));

let cluster = false;
const cli = path.join(root, 'cluster', 'cli.ts');
if (fs.existsSync(cli)) {
  step('test cluster');
  process.env.DEVLANE_CLUSTER_BIN = ensureClusterBinaries();
  // A cluster that was already up (a developer's demo) is used and left running.
  const before = node(['--import', 'tsx', cli, 'status'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const wasUp = before.status === 0 && JSON.parse((before.stdout ?? '').trim().split('\n').pop() || '{}').apiServer === true;
  const up = node(['--import', 'tsx', cli, 'up'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(up.stdout ?? '');
  must('cluster up', up);
  cluster = !wasUp;
  if (wasUp) console.log('(the cluster was already running: it stays up after the tests)');
  process.env.DEVLANE_TEST_KUBECONFIG = (up.stdout ?? '').trim().split('\n').pop();
}

let status = 1;
const tap = path.join(os.tmpdir(), `devlane-test-${process.pid}.tap`);
try {
  step(`tests: ${files.length} files (${tiers.join(' → ')})`);
  const r = node(['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files]);
  status = r.status ?? 1;
} finally {
  if (cluster) {
    step('test cluster down');
    const down = node(['--import', 'tsx', cli, 'down'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (down.status !== 0) status = status || 1;
  }
}
// The closing line CI reads, after the tear-down's output.
const text = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
fs.rmSync(tap, { force: true });
const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
console.log(`\ntests: ${count('pass')} passed, ${count('fail') + count('cancelled')} failed`);
process.exit(status);

function testFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join(dir, f));
}
