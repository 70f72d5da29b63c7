// Builds production bundles and packs the VSIX with only what ships (see .vscodeignore):
// bundles carry their dependencies, so node_modules is not packed (--no-dependencies).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureNodeModules, root } from './setup.mjs';

ensureNodeModules();
const run = (args) => {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run([path.join(root, 'scripts', 'build.mjs'), '--production']);
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const out = path.join(root, 'artifacts', `devlane-${version}.vsix`);
fs.mkdirSync(path.dirname(out), { recursive: true });
run([path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', out]);
console.log(out);
