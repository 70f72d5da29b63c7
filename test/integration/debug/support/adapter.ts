import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';

const root = path.resolve(__dirname, '../../../..');

/**
 * Bundles debug-adapter/main.ts the way the build does (one CommonJS file for Node) into a temp dir,
 * so protocol tests drive the same artifact VS Code spawns.
 */
export async function bundleAdapter(): Promise<{ file: string; dispose(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-dap-'));
  const file = path.join(dir, 'debug-adapter.js');
  await esbuild.build({ entryPoints: [path.join(root, 'debug-adapter/main.ts')], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: file, logLevel: 'warning' });
  return { file, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export async function startClient(adapterFile: string, env: NodeJS.ProcessEnv = {}): Promise<DebugClient> {
  const dc = new DebugClient('node', adapterFile, 'devlane', { env: { ...process.env, DEVLANE_LOG: 'warn', ...env } }, true);
  dc.defaultTimeout = 60_000;
  await dc.start();
  return dc;
}

/** Attaches and waits for the initialized event, like VS Code does before sending breakpoints. */
export async function attach(dc: DebugClient, args: Record<string, unknown>): Promise<void> {
  const initialized = dc.waitForEvent('initialized');
  await dc.initializeRequest({ adapterID: 'devlane', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  await dc.attachRequest(args as DebugProtocol.AttachRequestArguments);
  await initialized;
}

/** The next stop from `next` (a stopQueue), with its stack; fails on termination or another reason. */
export async function stoppedAt(dc: DebugClient, next: () => Promise<DebugProtocol.StoppedEvent | 'terminated'>, reason?: string): Promise<{ threadId: number; top: DebugProtocol.StackFrame; frames: DebugProtocol.StackFrame[]; event: DebugProtocol.StoppedEvent }> {
  const event = await next();
  if (event === 'terminated') throw new Error(`the session ended while waiting for a stop${reason ? ` (${reason})` : ''}`);
  if (reason && event.body.reason !== reason) throw new Error(`stopped for ${event.body.reason}, expected ${reason}`);
  const threadId = event.body.threadId as number;
  const st = await dc.stackTraceRequest({ threadId });
  const top = st.body.stackFrames[0];
  if (!top) throw new Error('no frames');
  return { threadId, top, frames: st.body.stackFrames, event };
}

/** name → value of the frame's Locals scope. */
export async function localsOf(dc: DebugClient, frameId: number): Promise<{ values: Record<string, string>; vars: DebugProtocol.Variable[] }> {
  const scopes = await dc.scopesRequest({ frameId });
  const locals = scopes.body.scopes.find((s) => s.name === 'Locals');
  if (!locals) throw new Error('no Locals scope');
  const vars = (await dc.variablesRequest({ variablesReference: locals.variablesReference })).body.variables;
  return { values: Object.fromEntries(vars.map((v) => [v.name, v.value])), vars };
}

/**
 * Waits for the next 'stopped' or 'terminated' event without leaving timers behind (DebugClient's
 * waitForEvent keeps its timeout running when the event never comes, which holds the test open).
 */
export function stopQueue(dc: DebugClient): () => Promise<DebugProtocol.StoppedEvent | 'terminated'> {
  const queue: (DebugProtocol.StoppedEvent | 'terminated')[] = [];
  let wake: (() => void) | undefined;
  dc.on('stopped', (e: DebugProtocol.StoppedEvent) => {
    queue.push(e);
    wake?.();
  });
  dc.on('terminated', () => {
    queue.push('terminated');
    wake?.();
  });
  return () =>
    new Promise((resolve, reject) => {
      const take = () => {
        const e = queue.shift();
        if (e === undefined) return false;
        clearTimeout(t);
        wake = undefined;
        resolve(e);
        return true;
      };
      const t = setTimeout(() => {
        wake = undefined;
        reject(new Error('timed out waiting for a stopped or terminated event'));
      }, 60_000);
      if (!take()) wake = () => void take();
    });
}
