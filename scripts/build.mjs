// Bundles every entry with esbuild. One bundle per process or page: the extension host (CommonJS,
// `vscode` external), the tunnel data plane, the debug adapter, the in-cluster tunnel agent, and
// each webview (browser IIFE). Entries whose source does not exist yet are left out.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** The options every Node-side bundle uses; tests build probes with the same ones. */
export const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production ? 'linked' : false,
  minify: production,
  // client-node pulls isomorphic-ws: the "node" condition must win over "browser", or exec and
  // port-forward fail inside the bundle with "... is not a constructor" (podman-desktop#10844).
  conditions: ['node', 'require', 'default'],
  mainFields: ['module', 'main'],
  logLevel: 'warning',
  // Optional native speedups of ssh2; it works without them.
  external: ['cpu-features', './crypto/build/Release/sshcrypto.node'],
  legalComments: 'none',
  alias: { 'whatwg-url': path.join(root, 'scripts', 'shims', 'whatwg-url.cjs') },
};

const entries = [
  // The banner marks when VS Code starts evaluating the bundle, so activate() can log load time too.
  { in: 'extension/main.ts', out: 'dist/extension.js', extra: { external: [...node.external, 'vscode'], banner: { js: 'globalThis.__devlaneLoadStart = performance.now();' } } },
  { in: 'dataplane/main.ts', out: 'dist/dataplane.js' },
  // The agent transport is loaded only by tunnels through the in-cluster agent: SSH-only users
  // never pay its memory.
  { in: 'dataplane/agent/transport.ts', out: 'dist/dataplane-agent.js' },
  { in: 'debug-adapter/main.ts', out: 'dist/debug-adapter.js' },
  { in: 'tunnel-agent/main.ts', out: 'dist/tunnel-agent.js' },
];

const webviewDir = path.join(root, 'webview');
const webviews = fs.existsSync(webviewDir)
  ? fs.readdirSync(webviewDir).filter((d) => fs.existsSync(path.join(webviewDir, d, 'main.ts')))
  : [];

const configs = [
  ...entries
    .filter((e) => fs.existsSync(path.join(root, e.in)))
    .map((e) => ({ ...node, ...(e.extra ?? {}), entryPoints: [path.join(root, e.in)], outfile: path.join(root, e.out) })),
  ...webviews.map((w) => ({
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
    entryPoints: [path.join(webviewDir, w, 'main.ts')],
    outfile: path.join(root, 'dist', 'webview', `${w}.js`),
    loader: { '.css': 'text' },
  })),
];

/**
 * The Java agent (agent/) as dist/devlane-agent.jar, compiled by the machine's JDK for Java 11, so it
 * loads in any JVM from 11 on (the tests run it in 17 and 25). Its manifest names the entry points for -javaagent and attach,
 * and allows the retransformation that patches Authenticator.setDefault.
 */
export function buildAgentJar(outFile = path.join(root, 'dist', 'devlane-agent.jar')) {
  const src = path.join(root, 'agent', 'src', 'main', 'java');
  if (!fs.existsSync(src)) return false;
  const javaHome = process.env.JAVA_HOME;
  const tool = (name) => (javaHome && fs.existsSync(path.join(javaHome, 'bin', name)) ? path.join(javaHome, 'bin', name) : name);
  const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-agent-'));
  try {
    const sources = fs.readdirSync(src, { recursive: true }).filter((f) => f.endsWith('.java')).map((f) => path.join(src, f));
    const manifest = path.join(classes, 'MANIFEST.MF');
    fs.writeFileSync(manifest, 'Premain-Class: dev.devlane.agent.DevlaneAgent\nCan-Retransform-Classes: true\n');
    const out = path.join(classes, 'out');
    for (const [cmd, args] of [
      [tool('javac'), ['--release', '11', '-Xlint:all', '-Werror', '-d', out, ...sources]],
      [tool('jar'), ['--create', '--file', outFile, '--manifest', manifest, '-C', out, '.']],
    ]) {
      const r = spawnSync(cmd, args, { stdio: 'inherit' });
      if (r.error?.code === 'ENOENT') {
        throw new Error(`${path.basename(cmd)} was not found: building the Java agent (dist/devlane-agent.jar) needs a JDK 11 or newer. Install one (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.`);
      }
      if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed (exit ${r.status ?? r.signal}) building dist/devlane-agent.jar`);
    }
  } finally {
    fs.rmSync(classes, { recursive: true, force: true });
  }
  return true;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
const started = Date.now();
if (!isMain) {
  // Imported for its options.
} else if (watch) {
  fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
  buildAgentJar();
  for (const c of configs) (await esbuild.context(c)).watch();
  console.log(`watching ${configs.length} bundles`);
} else {
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  await Promise.all(configs.map((c) => esbuild.build(c)));
  // Static files that ship beside the bundles.
  const jar = buildAgentJar();
  console.log(`built ${configs.length} bundles${jar ? ' and the Java agent' : ''} in ${Date.now() - started} ms`);
}
