import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DevlaneError } from '../../errors';

/** What gets deployed: one file (a jar or war) or a folder (an exploded app, classes). */
export interface Artifact {
  readonly kind: 'file' | 'dir';
  /** Absolute path of the file or folder. */
  readonly path: string;
  readonly files: readonly ArtifactFile[];
}

export interface ArtifactFile {
  /** Path inside the artifact, '/'-separated (for a single file: its base name). */
  readonly rel: string;
  readonly abs: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
}

/** rel → sha256 (hex) of every file in a deployed version. */
export type Manifest = Readonly<Record<string, string>>;

/** Glob over a folder: `*` and `?` within a segment, `**` across segments. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  const p = pattern.split(path.sep).join('/');
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      // "**/" matches zero or more folders.
      re += p[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += p[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, base: string, out: string[], depth = 0): void {
  if (depth > 12) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === '.git') continue;
    const rel = base ? `${base}/${e.name}` : e.name;
    out.push(rel + (e.isDirectory() ? '/' : ''));
    if (e.isDirectory()) walk(path.join(dir, e.name), rel, out, depth + 1);
  }
}

/** Paths under `root` (files and folders) matching a glob, sorted, newest first on ties of name. */
export function globPaths(root: string, pattern: string): string[] {
  if (!/[*?]/.test(pattern)) {
    const abs = path.resolve(root, pattern);
    return fs.existsSync(abs) ? [abs] : [];
  }
  const re = globToRegExp(pattern.replace(/\/$/, ''));
  const all: string[] = [];
  walk(root, '', all);
  return all.filter((r) => re.test(r.replace(/\/$/, ''))).map((r) => path.join(root, r.replace(/\/$/, ''))).sort();
}

const buildOutputs = ['target/*.jar', 'target/*.war', 'build/libs/*.jar', 'build/libs/*.war'];
const notRunnable = /-(sources|javadoc|tests|test-sources|plain)\.(jar|war)$|^original-/;

/**
 * The artifact to deploy: the configured path or glob (relative to the workspace), else the
 * newest Maven or Gradle output. No match, or several for an explicit glob, is a clear error.
 */
export function findArtifact(workspace: string, configured?: string): string {
  if (configured) {
    const matches = globPaths(workspace, configured);
    if (matches.length === 0) {
      throw new DevlaneError('artifact-missing', `Nothing matches the deploy artifact "${configured}" in ${workspace}. Build the project first, or fix deploy.artifact in devlane.yaml.`);
    }
    if (matches.length > 1) {
      throw new DevlaneError('invalid-input', `The deploy artifact "${configured}" matches ${matches.length} paths (${matches.slice(0, 3).map((m) => path.relative(workspace, m)).join(', ')}…). Make the pattern name one jar, war or folder.`);
    }
    return matches[0]!;
  }
  const candidates = buildOutputs.flatMap((g) => globPaths(workspace, g)).filter((p) => !notRunnable.test(path.basename(p)));
  if (candidates.length === 0) {
    throw new DevlaneError('artifact-missing', `No build output to deploy in ${workspace} (looked for ${buildOutputs.join(', ')}). Run "mvn package" or "gradle build", or set deploy.artifact in devlane.yaml.`);
  }
  return candidates.map((p) => ({ p, t: fs.statSync(p).mtimeMs })).sort((a, b) => b.t - a.t)[0]!.p;
}

/** Lists an artifact's files (a folder recursively; symlinks followed to files only). */
export function readArtifact(p: string): Artifact {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new DevlaneError('artifact-missing', `The deploy artifact ${p} does not exist. Build the project first, or fix deploy.artifact in devlane.yaml.`);
  }
  const abs = path.resolve(p);
  if (st.isFile()) return { kind: 'file', path: abs, files: [{ rel: path.basename(abs), abs, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode }] };
  if (!st.isDirectory()) throw new DevlaneError('invalid-input', `The deploy artifact ${p} is neither a file nor a folder.`);
  const files: ArtifactFile[] = [];
  const visit = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const a = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r.includes('\n')) throw new DevlaneError('invalid-input', `The file name ${JSON.stringify(r)} in ${p} contains a line break; Devlane cannot deploy it.`);
      const s = fs.statSync(a);
      if (s.isDirectory()) visit(a, r);
      else if (s.isFile()) files.push({ rel: r, abs: a, size: s.size, mtimeMs: s.mtimeMs, mode: s.mode });
    }
  };
  visit(abs, '');
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { kind: 'dir', path: abs, files };
}

/**
 * Hashes files, reusing earlier hashes of files whose size and mtime did not change (the cache
 * is the caller's, one per deploy target).
 */
export async function manifestOf(files: readonly ArtifactFile[], cache: Map<string, { size: number; mtimeMs: number; sha: string }> = new Map()): Promise<Manifest> {
  const out: Record<string, string> = {};
  for (const f of files) {
    const hit = cache.get(f.abs);
    if (hit && hit.size === f.size && hit.mtimeMs === f.mtimeMs) {
      out[f.rel] = hit.sha;
      continue;
    }
    const h = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      fs.createReadStream(f.abs, { highWaterMark: 1024 * 1024 })
        .on('data', (d) => h.update(d))
        .on('end', () => resolve())
        .on('error', reject);
    });
    const sha = h.digest('hex');
    cache.set(f.abs, { size: f.size, mtimeMs: f.mtimeMs, sha });
    out[f.rel] = sha;
  }
  return out;
}

export interface DeployPlan {
  /** Files to send. */
  readonly changed: readonly string[];
  /** Files of the base version to remove. */
  readonly deleted: readonly string[];
  /** True when there is no usable base and everything travels. */
  readonly full: boolean;
}

/** What must travel, given what the clone has (undefined: nothing usable, send everything). */
export function planDeploy(local: Manifest, remote: Manifest | undefined): DeployPlan {
  if (!remote) return { changed: Object.keys(local).sort(), deleted: [], full: true };
  const changed = Object.keys(local).filter((k) => remote[k] !== local[k]).sort();
  const deleted = Object.keys(remote).filter((k) => !(k in local)).sort();
  return { changed, deleted, full: false };
}

/**
 * Where the app reads the artifact in the container when the options do not say: the argument
 * after `-jar` in the app command, else /devlane/app.
 */
export function defaultTarget(appCommand: readonly string[]): string {
  const i = appCommand.indexOf('-jar');
  const jar = i >= 0 ? appCommand[i + 1] : undefined;
  return jar && jar.startsWith('/') ? jar : '/devlane/app';
}
