import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseXml, elements } from './buildFiles';

/**
 * Which workload the developer most likely wants to debug when F5 has no launch configuration:
 * the one whose build the open file belongs to. A microservice repository holds one module per
 * service (`orders/`, `inventory/`), and a service's Deployment is named after it, or devlane.yaml
 * says which module's build output it deploys.
 */

export interface WorkloadCandidate {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Container images of its pod template. */
  readonly images: readonly string[];
  /** devlane.yaml's `deploy.artifact` for it, relative to the workspace folder, when it has an entry. */
  readonly artifact?: string;
  readonly inDevlaneYaml: boolean;
}

export interface RankedCandidate<C extends WorkloadCandidate = WorkloadCandidate> {
  readonly candidate: C;
  readonly score: number;
  /** Why it ranks where it does, in a few words for the pick ("you are editing orders/"); empty when nothing matched. */
  readonly reason: string;
}

/** The module (build folder) a file belongs to: its folder relative to the workspace and the names it goes by. */
export interface ModuleOfFile {
  readonly dir: string;
  readonly names: readonly string[];
}

const buildFileNames = ['pom.xml', 'build.gradle', 'build.gradle.kts'];

/** The nearest folder above `file` (inside `workspace`) with a build file, else the file's first folder under the workspace. */
export function moduleOf(file: string, workspace: string): ModuleOfFile | undefined {
  const rel = path.relative(workspace, file);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  for (let dir = path.dirname(file); dir.length >= workspace.length; dir = path.dirname(dir)) {
    const build = buildFileNames.find((b) => fs.existsSync(path.join(dir, b)));
    if (build) {
      const names = [path.basename(dir)];
      if (build === 'pom.xml') {
        const artifactId = elements(parseXml(readOr(path.join(dir, build))), 'artifactId')[0]?.text.trim();
        if (artifactId) names.push(artifactId);
      }
      return { dir: path.relative(workspace, dir), names: [...new Set(names)] };
    }
    if (dir === path.dirname(dir)) break;
  }
  const first = rel.split(path.sep)[0] ?? '';
  return rel.includes(path.sep) ? { dir: first, names: [first] } : undefined;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A name reduced to what identifies the service: lower case, no punctuation, no common suffix. */
export function serviceStem(name: string): string {
  let s = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const suffix of ['deployment', 'service', 'server', 'svc', 'app', 'api']) {
    if (s.length > suffix.length && s.endsWith(suffix)) s = s.slice(0, -suffix.length);
  }
  return s;
}

/** The repository part of an image reference: "registry:5000/team/shop-orders:1.2" → "shop-orders". */
function imageName(image: string): string {
  const noDigest = image.split('@')[0] ?? '';
  const last = noDigest.split('/').pop() ?? '';
  return last.split(':')[0] ?? '';
}

/**
 * Candidates ordered by how well they fit the open file's module (or, with no file open, the
 * workspace folder's name): devlane.yaml deploying that module's output first, then a workload
 * named like the module, then one whose image is; entries of devlane.yaml before the rest. The
 * order is stable otherwise (namespace, then name).
 */
export function rankWorkloads<C extends WorkloadCandidate>(candidates: readonly C[], module: ModuleOfFile | undefined, workspaceName: string): RankedCandidate<C>[] {
  const names = module?.names.length ? module.names : [workspaceName];
  const stems = names.map(serviceStem).filter(Boolean);
  const where = module ? `you are editing ${module.dir}/` : `the workspace is ${workspaceName}`;
  const scoreOf = (c: C): { score: number; reason: string } => {
    if (module && c.artifact && isInside(path.normalize(c.artifact), module.dir)) return { score: 100, reason: `devlane.yaml deploys ${c.artifact} to it; ${where}` };
    const stem = serviceStem(c.name);
    if (names.includes(c.name)) return { score: 80, reason: where };
    if (stems.includes(stem)) return { score: 70, reason: where };
    if (c.images.some((i) => stems.includes(serviceStem(imageName(i))))) return { score: 60, reason: `its image is built from ${names[0]}; ${where}` };
    if (stems.some((s) => s.length >= 3 && (stem.includes(s) || s.includes(stem)) && stem.length >= 3)) return { score: 40, reason: where };
    return { score: c.inDevlaneYaml ? 10 : 0, reason: c.inDevlaneYaml ? 'in devlane.yaml' : '' };
  };
  return candidates
    .map((c) => ({ candidate: c, ...scoreOf(c) }))
    .map((r) => (r.score >= 40 && r.candidate.inDevlaneYaml ? { ...r, score: r.score + 5 } : r))
    .sort((a, b) => b.score - a.score || a.candidate.namespace.localeCompare(b.candidate.namespace) || a.candidate.name.localeCompare(b.candidate.name));
}

function isInside(artifact: string, dir: string): boolean {
  return dir === '' || artifact === dir || artifact.startsWith(`${dir}${path.sep}`);
}
