import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultTarget, findArtifact, globToRegExp, manifestOf, planDeploy, readArtifact } from '../../../extension/core/clones/deploy/artifact';
import { isDevlaneError } from '../../../extension/core/errors';

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-art-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

test('the default artifact is the newest runnable Maven or Gradle output', () => {
  const dir = project({ 'target/app-1.0.jar': 'a', 'target/app-1.0-sources.jar': 's', 'target/original-app-1.0.jar': 'o', 'build/libs/app-plain.jar': 'p' });
  try {
    assert.equal(findArtifact(dir), path.join(dir, 'target/app-1.0.jar'));
    const later = path.join(dir, 'build/libs/app.jar');
    fs.writeFileSync(later, 'g');
    fs.utimesSync(later, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    assert.equal(findArtifact(dir), later);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a configured path or glob must name exactly one thing; nothing built is a clear error', () => {
  const dir = project({ 'svc/target/classes/A.class': 'a', 'svc/target/x.war': 'w', 'a/target/one.jar': '1', 'b/target/two.jar': '2' });
  try {
    assert.equal(findArtifact(dir, 'svc/target/classes'), path.join(dir, 'svc/target/classes'));
    assert.equal(findArtifact(dir, 'svc/**/*.war'), path.join(dir, 'svc/target/x.war'));
    assert.throws(() => findArtifact(dir, '*/target/*.jar'), (e) => isDevlaneError(e) && e.reason === 'invalid-input' && /matches 2 paths/.test(e.message));
    assert.throws(() => findArtifact(dir, 'nope/*.jar'), (e) => isDevlaneError(e) && e.reason === 'artifact-missing');
    const empty = project({ 'pom.xml': '<project/>' });
    try {
      assert.throws(() => findArtifact(empty), (e) => isDevlaneError(e) && e.reason === 'artifact-missing' && /mvn package/.test(e.message));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    assert.throws(() => readArtifact(path.join(dir, 'missing.jar')), (e) => isDevlaneError(e) && e.reason === 'artifact-missing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('globs: * within a folder, ** across folders', () => {
  assert.ok(globToRegExp('target/*.jar').test('target/a.jar'));
  assert.ok(!globToRegExp('target/*.jar').test('target/x/a.jar'));
  assert.ok(globToRegExp('**/*.jar').test('a.jar'));
  assert.ok(globToRegExp('**/*.jar').test('x/y/a.jar'));
  assert.ok(globToRegExp('a?c.jar').test('abc.jar'));
  assert.ok(!globToRegExp('a.c').test('abc'));
});

test('manifests, plans and the default target', async () => {
  const dir = project({ 'classes/a/A.class': 'A1', 'classes/a/B.class': 'B1', 'classes/r.txt': 'R' });
  try {
    const art = readArtifact(path.join(dir, 'classes'));
    assert.equal(art.kind, 'dir');
    assert.deepEqual(art.files.map((f) => f.rel), ['a/A.class', 'a/B.class', 'r.txt']);
    const cache = new Map<string, { size: number; mtimeMs: number; sha: string }>();
    const m1 = await manifestOf(art.files, cache);
    fs.writeFileSync(path.join(dir, 'classes/a/A.class'), 'A2');
    fs.rmSync(path.join(dir, 'classes/r.txt'));
    fs.writeFileSync(path.join(dir, 'classes/n.txt'), 'N');
    const m2 = await manifestOf(readArtifact(path.join(dir, 'classes')).files, cache);
    assert.deepEqual(planDeploy(m2, m1), { changed: ['a/A.class', 'n.txt'], deleted: ['r.txt'], full: false });
    assert.deepEqual(planDeploy(m2, undefined), { changed: ['a/A.class', 'a/B.class', 'n.txt'], deleted: [], full: true });
    assert.deepEqual(planDeploy(m2, m2), { changed: [], deleted: [], full: false });
    const jar = readArtifact(path.join(dir, 'classes/a/B.class'));
    assert.equal(jar.kind, 'file');
    assert.deepEqual(jar.files.map((f) => f.rel), ['B.class']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(defaultTarget(['java', '-Xmx1g', '-jar', '/app/orders.jar']), '/app/orders.jar');
  assert.equal(defaultTarget(['java', '-cp', '/app/classes', 'Main']), '/devlane/app');
});
