import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where "Hot Replace Classes" looks for rebuilt classes, without VS Code. A launch knows its
 * deployed classes folder; otherwise the build tools' conventional output folders of the
 * workspace are used (Maven, Gradle, plain javac -d out).
 */
const conventionalOutputs = ['target/classes', 'build/classes/java/main', 'build/classes/kotlin/main', 'out/production', 'bin'];

export function classOutputDirs(workspace: string | undefined, launchedArtifact: string | undefined, isDir: (p: string) => boolean = (p) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false): string[] {
  if (launchedArtifact && isDir(launchedArtifact)) return [launchedArtifact];
  if (!workspace) return [];
  return conventionalOutputs.map((d) => path.join(workspace, d)).filter((d) => isDir(d));
}

/** One line for the status bar and the log. */
export function hotReplaceSummary(redefined: readonly string[]): string {
  if (redefined.length === 0) return 'no loaded class changed since the last replace';
  const shown = redefined.slice(0, 3).join(', ');
  return `hot-replaced ${shown}${redefined.length > 3 ? ` and ${redefined.length - 3} more` : ''}`;
}
