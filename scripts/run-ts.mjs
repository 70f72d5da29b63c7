// Runs a TypeScript entry (CLI, benchmark) in plain Node through tsx, installing dependencies first
// on a fresh clone.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ensureNodeModules } from './setup.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
ensureNodeModules();
const [file, ...args] = process.argv.slice(2);
const r = spawnSync(process.execPath, ['--import', 'tsx', path.resolve(root, file), ...args], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
