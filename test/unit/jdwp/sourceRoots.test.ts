import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findSourceRoots } from '../../../extension/core/debug/sourceRoots';
import { readGradleSettings, readGradleSourceDirs, readPom } from '../../../extension/core/debug/buildFiles';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-roots-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));

/** A workspace on disk: relative path → content (a path ending in / is a folder). */
function workspace(name: string, files: Record<string, string>): string {
  const root = path.join(base, name);
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    if (rel.endsWith('/')) fs.mkdirSync(p, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    }
  }
  return root;
}

const rel = (root: string, roots: string[]) => roots.map((r) => path.relative(root, r) || '.');

test('modules side by side without a parent build (the demo shop): every module\'s source folder', () => {
  const ws = workspace('shop', {
    'orders/pom.xml': '<project><artifactId>orders</artifactId></project>',
    'orders/src/main/java/dev/shop/orders/OrdersApp.java': 'package dev.shop.orders;',
    'inventory/pom.xml': '<project><artifactId>inventory</artifactId></project>',
    'inventory/src/main/java/dev/shop/inventory/InventoryApp.java': 'package dev.shop.inventory;',
    'inventory/target/classes/': '',
  });
  assert.deepEqual(rel(ws, findSourceRoots([ws])).sort(), ['inventory/src/main/java', 'orders/src/main/java']);
});

test('a Maven aggregator: declared modules (profiles too, even outside the tree), declared and generated source folders', () => {
  const ws = workspace('maven', {
    'repo/pom.xml': `<?xml version="1.0"?>
      <project xmlns="http://maven.apache.org/POM/4.0.0">
        <!-- <modules><module>commented-out</module></modules> -->
        <modules><module>api</module><module>services/orders</module></modules>
        <profiles><profile><id>extra</id><modules><module>../outside</module></modules></profile></profiles>
      </project>`,
    'repo/api/pom.xml': '<project><build><sourceDirectory>src/java</sourceDirectory></build></project>',
    'repo/api/src/java/': '',
    'repo/services/orders/pom.xml': `<project><build><plugins><plugin>
        <groupId>org.codehaus.mojo</groupId><artifactId>build-helper-maven-plugin</artifactId>
        <executions><execution><configuration><sources><source>\${project.basedir}/src/gen/java</source><source>\${unknown}/x</source></sources></configuration></execution></executions>
      </plugin></plugins></build></project>`,
    'repo/services/orders/src/main/java/': '',
    'repo/services/orders/src/test/java/': '',
    'repo/services/orders/src/gen/java/': '',
    'repo/services/orders/target/generated-sources/annotations/': '',
    'outside/pom.xml': '<project/>',
    'outside/src/main/java/': '',
    'repo/commented-out/src/main/java/': '',
  });
  const repo = path.join(ws, 'repo');
  assert.deepEqual(rel(repo, findSourceRoots([repo])), [
    'api/src/java',
    'services/orders/src/gen/java',
    'services/orders/src/main/java',
    'services/orders/src/test/java',
    'services/orders/target/generated-sources/annotations',
    '../outside/src/main/java',
  ]);
});

test('a Gradle build: settings includes (nested, with projectDir) and declared srcDirs', () => {
  const ws = workspace('gradle', {
    'settings.gradle.kts': 'rootProject.name = "shop"\ninclude(":orders", ":libs:common")\ninclude("legacy")\nproject(":legacy").projectDir = file("old/legacy-app")\n// include("ghost")\n',
    'orders/build.gradle.kts': 'sourceSets { main { java { srcDir("src/generated/java") } } }',
    'orders/src/main/java/': '',
    'orders/src/generated/java/': '',
    'libs/common/build.gradle': "sourceSets { main { java { srcDirs = ['java'] } } }",
    'libs/common/java/': '',
    'old/legacy-app/src/main/java/': '',
    'ghost/src/main/java/': '',
  });
  assert.deepEqual(rel(ws, findSourceRoots([ws])), ['orders/src/generated/java', 'orders/src/main/java', 'libs/common/java', 'old/legacy-app/src/main/java']);
});

test('no build at all: roots from the package declarations; nothing Java: the folder itself', () => {
  const plain = workspace('plain', { 'app/dev/x/Main.java': '/* c */ package dev.x;\nclass Main {}', 'Top.java': 'class Top {}' });
  assert.deepEqual(rel(plain, findSourceRoots([plain])).sort(), ['.', 'app']);
  const empty = workspace('empty', { 'README.md': 'hi' });
  assert.deepEqual(findSourceRoots([empty]), [empty]);
});

test('build file readers', () => {
  assert.deepEqual(readPom('<project><modules><module>a</module><module>a</module></modules></project>', '/m'), { modules: ['a'], sourceDirs: [] });
  assert.deepEqual(readPom('not xml at all', '/m'), { modules: [], sourceDirs: [] });
  assert.deepEqual(readPom('<project><build><testSourceDirectory>${basedir}/t</testSourceDirectory></build></project>', '/m'), { modules: [], sourceDirs: ['/m/t'] });
  assert.deepEqual(readGradleSettings("include 'a', ':b:c'\n"), ['a', 'b/c']);
  assert.deepEqual(readGradleSourceDirs('java.setSrcDirs(listOf("x", "y"))\nsrcDirs += "$buildDir/gen"'), ['x', 'y']);
});

test('the debugger learns a root from the file a breakpoint is set in', async () => {
  const { SourceLocator } = await import('../../../debug-adapter/dap/sources');
  const ws = workspace('learn', { 'odd/layout/dev/x/App.java': 'package dev.x;', 'odd/layout/dev/x/Other.java': 'package dev.x;', 'misplaced/App.java': 'package dev.y;' });
  const sources = new SourceLocator([]);
  assert.equal(sources.find('dev.x', 'Other.java'), undefined);
  sources.learn(path.join(ws, 'misplaced/App.java'), 'dev.y');
  assert.equal(sources.find('dev.x', 'Other.java'), undefined, 'a file whose folders disagree with its package teaches nothing');
  sources.learn(path.join(ws, 'odd/layout/dev/x/App.java'), 'dev.x');
  assert.equal(sources.find('dev.x', 'Other.java'), path.join(ws, 'odd/layout/dev/x/Other.java'), 'a miss is forgotten once a root is learnt');
});
