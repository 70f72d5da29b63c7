// Set-up steps shared by `npm start`, `npm test` and the CLIs: each checks first and only installs
// what is missing, so a second run costs nothing. Uses Node built-ins only (it runs before
// node_modules exists).
import { spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const toolsDir = process.env.DEVLANE_TOOLS ?? path.join(os.homedir(), '.cache', 'devlane-tools');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  return r;
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Debian packages the tiers need, by the command (or file) that proves each is there. */
const debianPackages = [
  ['chromium', '/usr/bin/chromium'],
  ['openssh-server', '/usr/sbin/sshd'],
  ['openssh-client', 'ssh'],
  ['tcpdump', 'tcpdump'],
  ['iproute2', 'ip'],
  ['iptables', 'iptables'],
  ['socat', 'socat'],
  ['dnsmasq-base', 'dnsmasq'],
  ['util-linux', 'nsenter'],
  ['procps', 'ps'],
  ['ripgrep', 'rg'],
  ['libkrb5-dev', '/usr/include/gssapi/gssapi.h'],
  ['curl', 'curl'],
  ['openssl', 'openssl'],
  ['perl-base', 'perl'],
  ['maven', 'mvn'],
  // javac and jar: the Java agent (agent/) is compiled by scripts/build.mjs; maven alone pulls only a JRE.
  ['openjdk-17-jdk-headless', 'javac'],
];

export function ensureDebianPackages() {
  const missing = debianPackages.filter(([, probe]) => (probe.startsWith('/') ? !fs.existsSync(probe) : !has(probe))).map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`Missing Debian packages: ${missing.join(' ')}. Install them with: sudo apt-get install -y ${missing.join(' ')}`);
  }
  console.log(`installing Debian packages: ${missing.join(' ')}`);
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export function ensureNodeModules() {
  const stamp = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  console.log('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

/** VS Code 1.100.3 as code-server, from npm (shared tool); returns the code-server executable. */
export function ensureCodeServer() {
  const script = path.join(root, '..', 'shared', 'tools', 'install-code-server.sh');
  if (!fs.existsSync(script)) throw new Error(`${script} not found: the shared/ folder must sit beside this clone`);
  const out = execFileSync('bash', [script], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop();
}

/** The control-plane binaries (built once from Go modules, then cached). */
export function ensureClusterBinaries() {
  const out = execFileSync('bash', [path.join(root, 'cluster', 'tools', 'build-binaries.sh')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop();
}

/** Consul, Eureka and Nacos servers for the registration tests (built once from Go modules and Maven Central, then cached). */
export function ensureRegistryPeers() {
  const out = execFileSync(process.execPath, [path.join(root, 'scripts', 'peers', 'registries.mjs')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop());
}
