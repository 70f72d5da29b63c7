import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ControllerMethods } from '../../../../dataplane/ipc/protocol';
import { consoleLogger } from '../../../../extension/core/log';
import { DataPlaneClient } from '../../../../extension/core/tunnels/dataPlane';
import { waitFor } from '../../../support/wait';
import { alive } from './bastion';

const root = path.resolve(__dirname, '../../../..');

/** Runs the data plane from source; tsx is named by path so the test's working directory does not matter. */
export function dataPlaneFromSource(): string[] {
  return [process.execPath, '--import', pathToFileURL(require.resolve('tsx')).href, path.join(root, 'dataplane/main.ts')];
}

/** The esbuild options scripts/build.mjs bundles the shipped Node processes with, as `npm run package` sets them. */
export async function bundleOptions(): Promise<import('esbuild').BuildOptions> {
  const { node } = await import('../../../../scripts/build.mjs');
  return { ...node, minify: true, sourcemap: false };
}

/**
 * The data plane as it ships: one esbuild bundle (the build's options) run by plain node, so no tsx
 * loader sits in the measured process and ssh2 runs without its optional native crypto binding, as in
 * the VSIX. `nativeCrypto` places that binding where the bundle looks for it, to compare.
 */
export async function bundledDataPlane(dir: string, opts: { nativeCrypto?: boolean } = {}): Promise<string[]> {
  const esbuild = await import('esbuild');
  const out = path.join(dir, 'dataplane.js');
  await esbuild.build({ ...(await bundleOptions()), entryPoints: [path.join(root, 'dataplane/main.ts')], outfile: out });
  if (opts.nativeCrypto) {
    fs.mkdirSync(path.join(dir, 'crypto/build/Release'), { recursive: true });
    fs.copyFileSync(path.join(root, 'node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node'), path.join(dir, 'crypto/build/Release/sshcrypto.node'));
  }
  return [process.execPath, out];
}

export interface Answers {
  hostKey?: (q: ControllerMethods['ask.hostKey']['params']) => boolean;
  secret?: (q: ControllerMethods['ask.secret']['params']) => string | undefined;
}

export interface TestDataPlane {
  readonly client: DataPlaneClient;
  readonly runtimeDir: string;
  readonly questions: { hostKey: ControllerMethods['ask.hostKey']['params'][]; secret: ControllerMethods['ask.secret']['params'][] };
  /** Shuts the process down and checks it is gone. */
  close(): Promise<void>;
}

/** A real data-plane process (run from source through tsx) and a controller for it. */
export function startDataPlane(answers: Answers = {}, opts: { graceMs?: number; runtimeDir?: string; command?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): TestDataPlane {
  const runtimeDir = opts.runtimeDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-dp-'));
  const questions: TestDataPlane['questions'] = { hostKey: [], secret: [] };
  const client = new DataPlaneClient({
    command: opts.command ?? dataPlaneFromSource(),
    runtimeDir,
    instance: 'test',
    graceMs: opts.graceMs ?? 5_000,
    startTimeoutMs: 60_000,
    log: consoleLogger('warn', 'test-controller'),
    ...(opts.env ? { env: opts.env } : {}),
    answers: {
      hostKey: async (q) => {
        questions.hostKey.push(q);
        return answers.hostKey?.(q) ?? false;
      },
      secret: async (q) => {
        questions.secret.push(q);
        return answers.secret?.(q);
      },
    },
  });
  return {
    client,
    runtimeDir,
    questions,
    async close() {
      const pid = client.pid;
      await client.shutdown();
      client.dispose();
      if (pid !== undefined) {
        await waitFor(`data plane ${pid} to exit`, () => !alive(pid) || undefined, { timeoutMs: 15_000 });
      }
      if (!opts.runtimeDir) fs.rmSync(runtimeDir, { recursive: true, force: true });
    },
  };
}
