import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { category, commands, views, type SettingId } from '../../../extension/ids';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const c = pkg.contributes;

test('every command is declared once in ids.ts and in package.json, with the Devlane category', () => {
  const declared = Object.keys(commands).sort();
  const contributed = (c.commands as { command: string }[]).map((x) => x.command).sort();
  assert.deepEqual(contributed, declared);
  for (const x of c.commands as { command: keyof typeof commands; title: string; category: string; icon?: string }[]) {
    assert.equal(x.category, category);
    assert.equal(x.title, commands[x.command].title, `title of ${x.command}`);
    assert.equal(x.icon, commands[x.command].icon, `icon of ${x.command}`);
  }
});

test('menus and welcome content only name declared commands and views', () => {
  const ids = new Set(Object.keys(commands));
  for (const [menu, items] of Object.entries(c.menus as Record<string, { command: string }[]>)) {
    for (const i of items) assert.ok(ids.has(i.command), `${menu} names unknown command ${i.command}`);
  }
  const viewIds = new Set(Object.values(views));
  for (const w of c.viewsWelcome as { view: string; contents: string }[]) {
    assert.ok(viewIds.has(w.view as never), `welcome for unknown view ${w.view}`);
    for (const m of w.contents.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(ids.has(m[1] ?? ''), `welcome links unknown command ${m[1]}`);
  }
  const contributedViews = (c.views.devlane as { id: string }[]).map((v) => v.id).sort();
  assert.deepEqual(contributedViews, [...viewIds].sort());
  for (const v of viewIds) assert.ok((c.viewsWelcome as { view: string }[]).some((w) => w.view === v), `view ${v} has no welcome content`);
});

test('settings in package.json are exactly the typed settings', () => {
  // A compile-time list: adding a key to Settings without listing it here fails type-checking.
  const typed: Record<SettingId, true> = {
    'devlane.kubeconfig': true,
    'devlane.context': true,
    'devlane.clone.ttlMinutes': true,
    'devlane.clone.redeployOn': true,
    'devlane.tunnel.destination': true,
    'devlane.tunnel.socksPort': true,
    'devlane.tunnel.httpPort': true,
    'devlane.tunnel.keepaliveIntervalSeconds': true,
    'devlane.tunnel.keepaliveCountMax': true,
    'devlane.tunnel.proxyAuth': true,
    'devlane.tunnel.alertAfterSeconds': true,
    'devlane.tunnel.clusterDomains': true,
  };
  assert.deepEqual(Object.keys(c.configuration.properties).sort(), Object.keys(typed).sort());
});

test('activation is on demand only, and the engine is VS Code 1.100', () => {
  assert.equal(pkg.engines.vscode, '^1.100.0');
  assert.ok(!pkg.activationEvents.includes('*'));
  assert.ok(pkg.activationEvents.includes('workspaceContains:devlane.yaml'));
  assert.ok(pkg.activationEvents.includes('onDebugResolve:devlane'));
  assert.match(pkg.dependencies['@kubernetes/client-node'], /^~1\.4\./);
});

test('the walkthrough: its id is the one the code opens, every step has its media, Devlane links name declared commands', async () => {
  const { walkthroughId } = await import('../../../extension/ids');
  const [walkthrough, ...others] = c.walkthroughs as { id: string; steps: { id: string; description: string; media: { markdown?: string } }[] }[];
  assert.equal(others.length, 0);
  assert.equal(walkthrough?.id, walkthroughId);
  const ids = new Set(Object.keys(commands));
  const root = path.join(__dirname, '..', '..', '..');
  for (const step of walkthrough?.steps ?? []) {
    assert.ok(step.media.markdown && fs.existsSync(path.join(root, step.media.markdown)), `step ${step.id}: media ${step.media.markdown} is missing`);
    for (const m of step.description.matchAll(/\(command:(devlane\.[\w.]+?)(?:\?[^)]*)?\)/g)) {
      const id = m[1] ?? '';
      // View focus commands come with the view, not from contributes.commands.
      assert.ok(ids.has(id) || (Object.values(views) as string[]).some((v) => id === `${v}.focus`), `step ${step.id} links unknown command ${id}`);
    }
  }
});
