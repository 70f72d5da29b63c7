import * as fs from 'node:fs';
import * as path from 'node:path';
import { declaredPackage } from '../../../debug-adapter/dap/sources';
import { readGradleSettings, readGradleSourceDirs, readPom } from './buildFiles';

/**
 * The Java source roots of a workspace, as the debugger needs them to map a class to its file:
 * every module of a multi-module Maven or Gradle build (declared in the build, or found below the
 * folder), each module's declared source folders and its conventional ones. Microservice
 * repositories are usually multi-module (`orders/src/main/java`, `inventory/src/main/java`), so
 * looking only at `<folder>/src/main/java` would map the app's own frames to nothing.
 */

/** Source folders every Maven and Gradle module has by convention, and where annotation processors write. */
const conventional = [
  'src/main/java',
  'src/test/java',
  'src/main/kotlin',
  'target/generated-sources/annotations',
  'build/generated/sources/annotationProcessor/java/main',
];
const buildFiles = ['pom.xml', 'build.gradle', 'build.gradle.kts'];
const settingsFiles = ['settings.gradle', 'settings.gradle.kts'];
/** Folders never searched for modules: outputs, caches, tool folders. */
const skipped = new Set(['node_modules', 'target', 'build', 'out', 'bin', 'dist', '.git', '.gradle', '.idea', '.vscode', '.mvn', '.devlane']);

export interface SourceRootOptions {
  /** How deep below a workspace folder modules are looked for. */
  readonly maxDepth?: number;
  /** At most this many folders are read per workspace folder (a huge tree is not walked to its end). */
  readonly maxDirs?: number;
}

export function findSourceRoots(workspaceFolders: readonly string[], opts: SourceRootOptions = {}): string[] {
  const out: string[] = [];
  for (const folder of workspaceFolders) {
    const modules = modulesOf(folder, opts);
    const roots = modules.flatMap(moduleRoots);
    // No build and no conventional layout: plain sources, found by their package declarations.
    out.push(...(roots.length ? roots : packageRoots(folder, opts)));
  }
  return [...new Set(out)];
}

/** Module folders: those the builds declare, and any folder with a build file within maxDepth. */
function modulesOf(folder: string, opts: SourceRootOptions): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const add = (dir: string) => {
    const abs = path.resolve(dir);
    if (seen.has(abs) || !isDir(abs)) return;
    seen.add(abs);
    found.push(abs);
    for (const m of declaredModules(abs)) add(path.join(abs, m));
  };
  add(folder);
  walk(folder, opts, (dir, names) => {
    if (names.some((n) => buildFiles.includes(n))) add(dir);
  });
  return found;
}

function declaredModules(dir: string): string[] {
  const pom = read(path.join(dir, 'pom.xml'));
  const settings = settingsFiles.map((f) => read(path.join(dir, f))).find((t) => t !== undefined);
  return [...(pom !== undefined ? readPom(pom, dir).modules : []), ...(settings !== undefined ? readGradleSettings(settings) : [])];
}

function moduleRoots(dir: string): string[] {
  const pom = read(path.join(dir, 'pom.xml'));
  const gradle = ['build.gradle', 'build.gradle.kts'].map((f) => read(path.join(dir, f))).find((t) => t !== undefined);
  const declared = [...(pom !== undefined ? readPom(pom, dir).sourceDirs : []), ...(gradle !== undefined ? readGradleSourceDirs(gradle) : [])];
  return [...declared, ...conventional].map((d) => path.resolve(dir, d)).filter(isDir);
}

/**
 * Roots of sources outside any build layout: for each folder holding .java files, the folder its
 * package declaration says it is below (`a/b/dev/x/Main.java` declaring `package dev.x` → `a/b`).
 */
function packageRoots(folder: string, opts: SourceRootOptions): string[] {
  const roots = new Set<string>();
  walk(folder, opts, (dir, names) => {
    const java = names.find((n) => n.endsWith('.java'));
    const text = java ? read(path.join(dir, java)) : undefined;
    if (text === undefined) return;
    const pkg = declaredPackage(text);
    const parts = pkg ? pkg.split('.') : [];
    const tail = dir.split(path.sep).slice(-parts.length);
    if (parts.length === 0) roots.add(dir);
    else if (tail.join('.') === pkg) roots.add(dir.split(path.sep).slice(0, -parts.length).join(path.sep) || path.sep);
  });
  return roots.size ? [...roots] : [folder];
}

/** Breadth-first over the folders below `root` (skipping outputs and tool folders), bounded in depth and count. */
function walk(root: string, opts: SourceRootOptions, visit: (dir: string, names: string[]) => void): void {
  const maxDepth = opts.maxDepth ?? 6;
  let budget = opts.maxDirs ?? 5_000;
  let level = [root];
  for (let depth = 0; depth <= maxDepth && level.length && budget > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      if (budget-- <= 0) break;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      visit(dir, entries.filter((e) => e.isFile()).map((e) => e.name));
      for (const e of entries) if (e.isDirectory() && !skipped.has(e.name) && !e.name.startsWith('.')) next.push(path.join(dir, e.name));
    }
    level = next;
  }
}

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function isDir(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
