/**
 * Just enough of Maven's pom.xml and Gradle's build scripts to know a build's modules and the
 * source folders it declares. Best effort by design: a build file this cannot read still gets its
 * conventional folders from the caller.
 */

export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

/** A small XML reader: elements and their text; attributes, comments, CDATA markers and prologs are skipped. */
export function parseXml(source: string): XmlElement | undefined {
  const root: XmlElement = { name: '#document', children: [], text: '' };
  const stack: XmlElement[] = [root];
  let i = 0;
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    const top = stack[stack.length - 1] as XmlElement;
    if (lt < 0) break;
    if (lt > i) top.text += decodeEntities(source.slice(i, lt));
    if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt + 4);
      i = end < 0 ? source.length : end + 3;
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt + 9);
      top.text += source.slice(lt + 9, end < 0 ? source.length : end);
      i = end < 0 ? source.length : end + 3;
    } else if (source.startsWith('<?', lt) || source.startsWith('<!', lt)) {
      const end = source.indexOf('>', lt);
      i = end < 0 ? source.length : end + 1;
    } else {
      const end = source.indexOf('>', lt);
      if (end < 0) break;
      const tag = source.slice(lt + 1, end);
      i = end + 1;
      if (tag.startsWith('/')) {
        const name = tag.slice(1).trim();
        // Close up to the matching element; a stray end tag is ignored.
        const at = stack.map((e) => e.name).lastIndexOf(name);
        if (at > 0) stack.length = at;
        continue;
      }
      const name = tag.split(/[\s/]/, 1)[0] ?? '';
      const el: XmlElement = { name, children: [], text: '' };
      top.children.push(el);
      if (!tag.endsWith('/')) stack.push(el);
    }
  }
  return root.children.find((c) => c.name !== '');
}

function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e] ?? '');
}

/** Children of `el` along a path of element names (`a/b/c`). */
export function elements(el: XmlElement | undefined, pathOf: string): XmlElement[] {
  let level = el ? [el] : [];
  for (const name of pathOf.split('/')) level = level.flatMap((e) => e.children.filter((c) => c.name === name));
  return level;
}

const texts = (el: XmlElement | undefined, pathOf: string) => elements(el, pathOf).map((e) => e.text.trim()).filter(Boolean);

export interface MavenModule {
  /** `<modules>` entries (also those of profiles), folders relative to this pom's folder. */
  readonly modules: string[];
  /** Source folders the build declares, relative to the module (or absolute), `${project.basedir}` resolved. */
  readonly sourceDirs: string[];
}

/** What a pom.xml says about sub-modules and source folders. */
export function readPom(text: string, moduleDir: string): MavenModule {
  const project = parseXml(text);
  if (!project || project.name !== 'project') return { modules: [], sourceDirs: [] };
  const modules = [...texts(project, 'modules/module'), ...texts(project, 'profiles/profile/modules/module')];
  const plugins = [...elements(project, 'build/plugins/plugin'), ...elements(project, 'build/pluginManagement/plugins/plugin')];
  const helperSources = plugins
    .filter((p) => texts(p, 'artifactId').includes('build-helper-maven-plugin'))
    .flatMap((p) => [...texts(p, 'executions/execution/configuration/sources/source'), ...texts(p, 'configuration/sources/source')]);
  const declared = [...texts(project, 'build/sourceDirectory'), ...texts(project, 'build/testSourceDirectory'), ...helperSources];
  const resolved = declared.map((d) => d.replace(/\$\{(project\.)?basedir\}/g, moduleDir)).filter((d) => !d.includes('${'));
  return { modules: [...new Set(modules)], sourceDirs: [...new Set(resolved)] };
}

/** String literals in a piece of a Groovy or Kotlin build script. */
function stringLiterals(s: string): string[] {
  return [...s.matchAll(/(["'])((?:(?!\1)[^\\\n]|\\.)*)\1/g)].map((m) => m[2] as string);
}

/** Gradle projects `include`d by a settings script, as folders relative to the root (":a:b" → "a/b"), with `projectDir` overrides. */
export function readGradleSettings(text: string): string[] {
  const code = stripComments(text);
  const dirs = new Map<string, string>();
  for (const m of code.matchAll(/\binclude\b\s*\(?([^\n)]*)/g)) {
    for (const p of stringLiterals(m[1] ?? '')) {
      const name = p.startsWith(':') ? p : `:${p}`;
      dirs.set(name, name.slice(1).replace(/:/g, '/'));
    }
  }
  for (const m of code.matchAll(/project\(\s*(["'])([^"']+)\1\s*\)\s*\.projectDir\s*=\s*(?:file|new\s+File)\(([^)]*)\)/g)) {
    const name = (m[2] as string).startsWith(':') ? (m[2] as string) : `:${m[2] as string}`;
    const literal = stringLiterals(m[3] ?? '').pop();
    if (literal) dirs.set(name, literal);
  }
  return [...dirs.values()];
}

/** Source folders a Gradle build script declares (`srcDir 'x'`, `srcDirs = ['x']`, `srcDirs("x")`, `setSrcDirs(listOf("x"))`). */
export function readGradleSourceDirs(text: string): string[] {
  const code = stripComments(text);
  const out: string[] = [];
  for (const m of code.matchAll(/\b(?:srcDirs?|setSrcDirs)\b\s*(?:\+?=)?\s*([^\n]*)/g)) out.push(...stringLiterals(m[1] ?? ''));
  return [...new Set(out)].filter((d) => !d.includes('$'));
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:"'])\/\/[^\n]*/g, '$1');
}
