import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';

/** Folder of the Java fixture sources (package folders below it). */
export const fixtureSourceRoot = path.resolve(__dirname, '../../../fixtures/java');

export interface Jdk {
  readonly name: string;
  readonly home: string | undefined;
  readonly feature: number;
}

/** The machine's JDKs the suites run on: the default `java` (17) and Temurin 25 when present. */
export function availableJdks(): Jdk[] {
  const out: Jdk[] = [{ name: 'default', home: undefined, feature: javaFeature(undefined) }];
  const temurin = '/usr/lib/jvm/temurin-25-jdk-amd64';
  if (fs.existsSync(path.join(temurin, 'bin', 'java'))) out.push({ name: 'temurin-25', home: temurin, feature: 25 });
  return out;
}

export function bin(jdk: Jdk | undefined, tool: string): string {
  return jdk?.home ? path.join(jdk.home, 'bin', tool) : tool;
}

function javaFeature(home: string | undefined): number {
  // `java -XshowSettings:properties` prints human text; the release file is the machine-readable source.
  const javaHome = home ?? path.resolve(fs.realpathSync(spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim()), '../..');
  const release = fs.readFileSync(path.join(javaHome, 'release'), 'utf8');
  const m = /JAVA_VERSION="(\d+)/.exec(release);
  return m ? Number(m[1]) : 0;
}

export interface CompiledFixtures {
  readonly classesDir: string;
  readonly sourceRoot: string;
  dispose(): void;
}

/**
 * Compiles the fixtures with `-g` into a temp dir (and `nodebug/` with `-g:none`, to have classes
 * without debug information). Virtual-thread fixtures only on JDK 21+.
 */
export function compileFixtures(jdk?: Jdk): CompiledFixtures {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlane-jdwp-'));
  const classesDir = path.join(dir, 'classes');
  const javac = bin(jdk, 'javac');
  const sources = (pkg: string) => fs.readdirSync(path.join(fixtureSourceRoot, pkg)).map((f) => path.join(fixtureSourceRoot, pkg, f));
  const run = (args: string[]) => {
    const r = spawnSync(javac, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`javac ${args.join(' ')} failed: ${r.stderr}`);
  };
  try {
    run(['-g', '-d', classesDir, ...sources('demo')]);
    run(['-g:none', '-d', classesDir, ...sources('nodebug')]);
    if ((jdk?.feature ?? 17) >= 21) run(['-g', '-d', classesDir, ...sources('vthreads')]);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { classesDir, sourceRoot: fixtureSourceRoot, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The 1-based line of the `// @marker` comment in a fixture source. */
export function lineOf(relativeFile: string, marker: string): number {
  const lines = fs.readFileSync(path.join(fixtureSourceRoot, relativeFile), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`// @${marker}`) || l.includes(`/* @${marker} */`));
  if (i < 0) throw new Error(`no marker @${marker} in ${relativeFile}`);
  return i + 1;
}

export interface DebuggeeJvm {
  readonly port: number;
  readonly process: ChildProcess;
  /** Everything the program printed so far. */
  stdout(): string;
  /** Resolves when the program's stdout contains `text`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /**
   * The port of the agent's nth "Listening" line: with address=…:0 the agent picks a new port each
   * time it listens again after a debugger detached.
   */
  listeningPort(nth: number): Promise<number>;
  readonly exited: Promise<number | null>;
  dispose(): Promise<void>;
}

/**
 * Starts a JVM with the JDWP agent on a port the agent picks (address=127.0.0.1:0) and learns the
 * port from the agent's documented "Listening for transport dt_socket at address: N" line.
 */
export async function startJvm(opts: { classesDir: string; mainClass: string; args?: string[]; jdk?: Jdk; suspend?: boolean }): Promise<DebuggeeJvm> {
  const agent = `-agentlib:jdwp=transport=dt_socket,server=y,suspend=${opts.suspend === false ? 'n' : 'y'},address=127.0.0.1:0`;
  const child = spawn(bin(opts.jdk, 'java'), ['-Xshare:auto', agent, '-cp', opts.classesDir, opts.mainClass, ...(opts.args ?? [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of [...waiters]) w();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitForOutput = (text: string, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.includes(text)) {
          waiters.delete(check);
          clearTimeout(t);
          resolve();
        }
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for "${text}" from ${opts.mainClass}; stdout: ${out.slice(-500)} stderr: ${err.slice(-500)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const dispose = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const prefix = 'Listening for transport dt_socket at address:';
  const listeningPort = async (nth: number) => {
    const lines = () => out.split('\n').slice(0, -1).filter((l) => l.startsWith(prefix));
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        // A line counts once its newline arrived, so the port is complete.
        if (lines().length >= nth) {
          waiters.delete(check);
          clearTimeout(t);
          resolve();
        }
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the JDWP agent did not listen a ${nth}. time; stdout: ${out.slice(-500)} stderr: ${err.slice(-500)}`));
      }, 60_000);
      waiters.add(check);
      check();
    });
    const line = lines()[nth - 1] ?? '';
    const port = Number(line.slice(prefix.length).trim());
    if (!Number.isInteger(port) || port <= 0) throw new Error(`could not read the JDWP port from: ${line}`);
    return port;
  };
  try {
    const port = await listeningPort(1);
    return { port, process: child, stdout: () => out, waitForOutput, listeningPort, exited, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
