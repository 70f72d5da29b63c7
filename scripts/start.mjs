// `npm start`: build and pack Devlane, start the embedded demo cluster unless a kubeconfig is
// given (KUBECONFIG=… npm start, or npm start -- --kubeconfig FILE), install the VSIX into a local
// VS Code (code-server) opened on the sample workspace, print the URL, and run until Ctrl-C.
// Options: --port N (default 8080), --kubeconfig FILE, --profile DIR (the VS Code profile; default
// ~/.cache/devlane-tools/start).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureClusterBinaries, ensureCodeServer, ensureDebianPackages, ensureNodeModules, root, toolsDir } from './setup.mjs';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = Number(flag('--port') ?? process.env.DEVLANE_PORT ?? 8080);
let kubeconfig = flag('--kubeconfig') ?? process.env.KUBECONFIG;

ensureDebianPackages();
ensureNodeModules();
const codeServer = ensureCodeServer();
const pack = spawnSync(process.execPath, [path.join(root, 'scripts', 'package.mjs')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (pack.status !== 0) process.exit(pack.status ?? 1);
const vsix = pack.stdout.trim().split('\n').pop();

let startedCluster = false;
const cli = path.join(root, 'cluster', 'cli.ts');
if (!kubeconfig) {
  if (!fs.existsSync(cli)) {
    console.error('No kubeconfig given and this checkout has no demo cluster (cluster/cli.ts). Run: KUBECONFIG=/path/to/kubeconfig npm start');
    process.exit(1);
  }
  ensureClusterBinaries();
  // A demo cluster that already runs is used, and left running on exit.
  const status = spawnSync(process.execPath, ['--import', 'tsx', cli, 'status'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const wasUp = status.status === 0 && JSON.parse(status.stdout.trim().split('\n').pop() || '{}').apiServer === true;
  console.log(wasUp ? 'using the running demo cluster' : 'starting the demo cluster (no kubeconfig given)…');
  const up = spawnSync(process.execPath, ['--import', 'tsx', cli, 'up'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (up.status !== 0) process.exit(up.status ?? 1);
  kubeconfig = up.stdout.trim().split('\n').pop();
  startedCluster = !wasUp;
}

// An isolated VS Code profile, so the demo never touches the user's own VS Code.
const home = path.resolve(flag('--profile') ?? path.join(toolsDir, 'start'));
const userData = path.join(home, 'user-data');
const extensions = path.join(home, 'extensions');
fs.mkdirSync(extensions, { recursive: true });
/** Merges `values` into one of the profile's settings files (User, or Machine: code-server's remote settings). */
const updateSettings = (scope, values) => {
  fs.mkdirSync(path.join(userData, scope), { recursive: true });
  const file = path.join(userData, scope, 'settings.json');
  const settings = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  fs.writeFileSync(file, JSON.stringify({ ...settings, ...values }, null, 2));
};
updateSettings('User', { 'security.workspace.trust.enabled': false, 'git.openRepositoryInParentFolders': 'never', 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'debug.openDebug': 'openOnDebugBreak' });
// devlane.kubeconfig is machine-overridable: a code-server window is a remote one, which reads
// such settings from the Machine (remote) settings only, never from the User file. There it
// reaches every feature, as the User settings do on the desktop.
updateSettings('Machine', { 'devlane.kubeconfig': kubeconfig });

const install = spawnSync(codeServer, ['--extensions-dir', extensions, '--user-data-dir', userData, '--force', '--install-extension', vsix], { stdio: ['ignore', 'ignore', 'inherit'] });
if (install.status !== 0) process.exit(install.status ?? 1);

const workspace = [path.join(root, 'cluster', 'samples', 'shop'), path.join(root, 'samples', 'workspace')].find((p) => fs.existsSync(p)) ?? root;
const server = spawn(codeServer, ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--extensions-dir', extensions, '--user-data-dir', userData, workspace], {
  stdio: ['ignore', 'ignore', 'inherit'],
  // DEVLANE_DEMO: the extension opens its Get Started walkthrough once in this profile.
  env: { ...process.env, DEVLANE_REPO: root, DEVLANE_DEMO: '1' },
});

const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
for (let i = 0; i < 240; i++) {
  const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok).catch(() => false);
  if (ok) break;
  await new Promise((r) => setTimeout(r, 250));
}
console.log(`\nDevlane runs in VS Code at:\n  ${url}\nkubeconfig: ${kubeconfig}\nPress Ctrl-C to stop${startedCluster ? ' (the demo cluster stops too)' : ''}.`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.kill('SIGTERM');
  if (startedCluster) spawnSync(process.execPath, ['--import', 'tsx', cli, 'down'], { cwd: root, stdio: 'inherit' });
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.on('exit', (code) => {
  if (!stopping) {
    console.error(`code-server exited (${code})`);
    stop();
  }
});
