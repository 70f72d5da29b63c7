import * as fs from 'node:fs';
import * as path from 'node:path';

/** "Ldemo/Main$Inner;" → "demo.Main$Inner"; "[I" → "int[]"; "[[Ljava/lang/String;" → "java.lang.String[][]". */
export function typeName(signature: string): string {
  let dims = 0;
  while (signature[dims] === '[') dims++;
  const base = signature.slice(dims);
  const prim: Record<string, string> = { Z: 'boolean', B: 'byte', C: 'char', S: 'short', I: 'int', J: 'long', F: 'float', D: 'double', V: 'void' };
  const name = base.startsWith('L') && base.endsWith(';') ? base.slice(1, -1).replace(/\//g, '.') : (prim[base] ?? base);
  return name + '[]'.repeat(dims);
}

/** "java.util.ArrayList" → "ArrayList"; nested "demo.Main$Inner" → "Main$Inner". */
export function simpleName(qualified: string): string {
  return qualified.slice(qualified.lastIndexOf('.') + 1);
}

export function packageOf(qualified: string): string {
  const i = qualified.lastIndexOf('.');
  return i < 0 ? '' : qualified.slice(0, i);
}

/** The package a Java source declares (comments before it are skipped); '' for the default package. */
export function declaredPackage(source: string): string {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  const m = /^\s*(?:@[\w.]+(?:\([^)]*\))?\s*)*package\s+([\w.\s]+?)\s*;/.exec(withoutComments);
  return m ? (m[1] as string).replace(/\s+/g, '') : '';
}

/** Classes a breakpoint in `file` can land in: the top-level class named like the file and its nested ones. */
export function classesOfSource(pkg: string, file: string): { exact: string; nestedPrefix: string } {
  const base = path.basename(file).replace(/\.java$/, '');
  const exact = pkg ? `${pkg}.${base}` : base;
  return { exact, nestedPrefix: `${exact}$` };
}

/**
 * Maps a class's package and SourceFile attribute to a file under the source roots: the configured
 * ones, and those learnt from the files breakpoints are set in (a breakpoint's file, less its
 * package's folders, is a root: whatever the build layout, the class that stops there has a source).
 * Lookups are cached: stack traces ask for the same few files over and over.
 */
export class SourceLocator {
  private readonly cache = new Map<string, string | null>();
  private readonly roots: string[];
  constructor(roots: readonly string[]) {
    this.roots = [...roots];
  }

  /** Adds the root `file` sits in, given the package it declares (when the folders agree with it). */
  learn(file: string, pkg: string): void {
    const parts = pkg ? pkg.split('.') : [];
    const dir = path.dirname(path.resolve(file));
    const segments = dir.split(path.sep);
    if (parts.length && segments.slice(-parts.length).join('.') !== pkg) return;
    const root = segments.slice(0, segments.length - parts.length).join(path.sep) || path.sep;
    if (this.roots.includes(root)) return;
    this.roots.push(root);
    // Files not found before may be found now.
    for (const [rel, hit] of this.cache) if (hit === null) this.cache.delete(rel);
  }

  find(pkg: string, sourceFile: string): string | undefined {
    const rel = path.join(...pkg.split('.').filter(Boolean), sourceFile);
    const hit = this.cache.get(rel);
    if (hit !== undefined) return hit ?? undefined;
    let found: string | null = null;
    for (const root of this.roots) {
      const p = path.join(root, rel);
      if (fs.existsSync(p)) {
        found = p;
        break;
      }
    }
    this.cache.set(rel, found);
    return found ?? undefined;
  }
}
