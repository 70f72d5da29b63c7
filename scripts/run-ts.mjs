// Runs a TypeScript entry (CLI, benchmark) in plain Node through tsx, installing dependencies first
// on a fresh clone. Benchmarks run real peers (sshd, ssh, tcpdump, a JDK, Chromium…), so they get the
// same Debian packages `npm test` installs; the cluster CLI builds its binaries itself.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ensureDebianPackages, ensureNodeModules, root } from './setup.mjs';

const [file, ...args] = process.argv.slice(2);
try {
  if (file.startsWith('bench/')) ensureDebianPackages();
  ensureNodeModules();
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', path.resolve(root, file), ...args], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
