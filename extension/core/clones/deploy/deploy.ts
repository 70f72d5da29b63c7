import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Log } from '@kubernetes/client-node';
import { DevlaneError } from '../../errors';
import { execIn } from '../../kube/exec';
import { getOwnClone, toInfo, type CloneEnv } from '../lifecycle';
import { appCommandOf } from '../spec/supervisor';
import { defaultTarget, manifestOf, planDeploy, readArtifact, type Manifest } from './artifact';
import { deployScript, parseOutcome, stateScript } from './remote';
import { tarLength, tarStream, type TarEntry } from './tar';

export interface DeployRequest {
  /** Absolute path of the jar, war or folder (see findArtifact). */
  readonly artifact: string;
  /** Overrides the clone's deploy.target option. */
  readonly target?: string;
  readonly readinessPort?: number;
  readonly readinessLogLine?: string;
  readonly timeoutSeconds?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (message: string) => void;
  /** Bytes of the upload handed to the connection so far, and the total. */
  readonly onUpload?: (sent: number, total: number) => void;
  /**
   * When the clone already has exactly this build, do nothing (no upload, no restart) and say so
   * with `unchanged`. For redeploys Devlane starts by itself: a save that built nothing new must
   * not restart the app.
   */
  readonly skipIfUnchanged?: boolean;
}

export interface DeployResult {
  readonly version: string;
  /** Everything was sent (first deploy, or the clone's state was unknown). */
  readonly full: boolean;
  readonly sentFiles: number;
  readonly sentBytes: number;
  readonly deletedFiles: number;
  readonly target: string;
  readonly ms: number;
  /** Nothing was sent and the app was not restarted: the clone had this build (skipIfUnchanged). */
  readonly unchanged?: boolean;
}

interface KnownState {
  readonly uid: string;
  readonly version: string;
  readonly manifest: Manifest;
}

/**
 * Deploys local builds into clones. One per extension; it remembers what each clone has (by
 * pod uid) so a redeploy sends only changed files without asking first, and it remembers file
 * hashes by size and mtime so an unchanged 50 MB jar is not hashed again.
 */
export class Deployer {
  private readonly known = new Map<string, KnownState>();
  private readonly hashes = new Map<string, { size: number; mtimeMs: number; sha: string }>();

  constructor(private readonly env: CloneEnv) {}

  async deploy(namespace: string, name: string, req: DeployRequest): Promise<DeployResult> {
    const started = Date.now();
    const progress = req.onProgress ?? (() => {});
    const pod = await getOwnClone(this.env, namespace, name);
    const info = toInfo(pod);
    if (!info.supervised) {
      throw new DevlaneError('invalid-input', `Clone ${namespace}/${name} runs its original command without the keep-alive supervisor, so a deploy cannot restart its app. Clone again with keep-alive.`);
    }
    const app = pod.spec?.containers.find((c) => c.name === info.appContainer);
    const target = req.target ?? info.options?.deploy.target ?? defaultTarget(appCommandOf(app?.command ?? []));
    const port = req.readinessPort ?? info.options?.deploy.readinessPort;
    const logLine = req.readinessLogLine ?? info.options?.deploy.readinessLogLine;
    const waitSeconds = req.timeoutSeconds ?? info.options?.deploy.readinessTimeoutSeconds ?? 60;

    const artifact = readArtifact(req.artifact);
    // A single file (a jar) that changed on disk is sent without hashing it first: its hash is
    // computed while it streams and goes out last, in the manifest. Only a folder is hashed up
    // front, to find the few files that really changed.
    const single = artifact.kind === 'file' ? artifact.files[0]! : undefined;
    const cached = single ? this.hashes.get(single.abs) : undefined;
    // Deciding "unchanged" needs the hash before sending, so skipIfUnchanged hashes up front.
    const streamHash = !req.skipIfUnchanged && !!single && !(cached && cached.size === single.size && cached.mtimeMs === single.mtimeMs);
    if (!streamHash) progress('hashing the artifact');
    const manifest: Record<string, string> = streamHash ? { [single!.rel]: '0'.repeat(64) } : { ...(await manifestOf(artifact.files, this.hashes)) };
    const key = `${namespace}/${name}`;
    let base = this.known.get(key);
    if (base && base.uid !== info.uid) base = undefined;
    base ??= await this.readState(namespace, name, info.appContainer, info.uid);
    if (req.skipIfUnchanged && base) {
      const p = planDeploy(manifest, base.manifest);
      if (p.changed.length === 0 && p.deleted.length === 0) {
        return { version: base.version, full: false, sentFiles: 0, sentBytes: 0, deletedFiles: 0, target, ms: Date.now() - started, unchanged: true };
      }
    }

    const attempt = async (b: KnownState | undefined) => {
      let plan = planDeploy(manifest, b?.manifest);
      // Everything changed (a rebuilt jar): send it as a new version rather than an increment,
      // so the clone moves the upload into place instead of copying the base and overwriting it.
      if (!plan.full && plan.changed.length === artifact.files.length) plan = planDeploy(manifest, undefined);
      const byRel = new Map(artifact.files.map((f) => [f.rel, f]));
      const hasher = streamHash ? createHash('sha256') : undefined;
      const entries: TarEntry[] = plan.changed.map((rel) => {
        const f = byRel.get(rel)!;
        return { kind: 'file', path: `files/${rel}`, source: f.abs, size: f.size, mode: f.mode & 0o111 ? 0o755 : 0o644, mtimeMs: f.mtimeMs, ...(hasher ? { tap: (c: Buffer) => hasher.update(c) } : {}) };
      });
      if (!plan.full && plan.changed.length > 0) entries.push({ kind: 'data', path: 'meta/changed', data: Buffer.from(plan.changed.join('\n') + '\n') });
      if (plan.deleted.length > 0) entries.push({ kind: 'data', path: 'meta/deleted', data: Buffer.from(plan.deleted.join('\n') + '\n') });
      // Last, so a streamed hash is complete: same length as the placeholder (64 hex digits).
      const manifestSize = Buffer.byteLength(JSON.stringify(manifest));
      entries.push({
        kind: 'later',
        path: 'meta/manifest',
        size: manifestSize,
        data: () => {
          if (hasher && single) {
            manifest[single.rel] = hasher.digest('hex');
            this.hashes.set(single.abs, { size: single.size, mtimeMs: single.mtimeMs, sha: manifest[single.rel]! });
          }
          return Buffer.from(JSON.stringify(manifest));
        },
      });
      const length = tarLength(entries);
      const version = `v${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
      const entry = artifact.kind === 'file' ? artifact.files[0]!.rel : '.';
      const uploadSeconds = 120 + Math.ceil(length / 1_000_000);
      progress(plan.full ? `sending ${plan.changed.length} file(s), ${mb(length)}` : `sending ${plan.changed.length} changed file(s) of ${artifact.files.length}, ${mb(length)}`);
      const r = await execIn(
        this.env.kc,
        namespace,
        name,
        info.appContainer,
        ['/bin/sh', '-c', deployScript, 'devlane-deploy', String(length), version, b && !plan.full ? b.version : '-', entry, target, port ? String(port) : '-', String(Math.ceil(waitSeconds)), String(uploadSeconds)],
        { input: tarStream(entries), onInputSent: (n) => req.onUpload?.(n, length), timeoutMs: (uploadSeconds + waitSeconds + 30) * 1000, ...(req.signal ? { signal: req.signal } : {}) },
      );
      return { plan, version, length, outcome: parseOutcome(r.stdout.toString('utf8')), stderr: r.stderr };
    };

    let logWait: LogWaiter | undefined;
    if (logLine) logWait = await LogWaiter.start(this.env, namespace, name, info.appContainer, logLine);
    try {
      let r = await attempt(base);
      if (r.outcome && !r.outcome.ok && r.outcome.error === 'base') {
        // Someone else deployed meanwhile (or the clone restarted): send everything.
        this.known.delete(key);
        r = await attempt(undefined);
      }
      const o = r.outcome;
      if (!o) {
        throw new DevlaneError('deploy-interrupted', `The deploy to ${key} ended without an answer${r.stderr ? ` (${r.stderr.trim().slice(0, 300)})` : ''}. The clone keeps running its previous version; deploy again.`);
      }
      if (!o.ok) {
        if (o.error === 'upload') throw new DevlaneError('deploy-interrupted', `The upload to ${key} did not complete. The clone keeps running its previous version; deploy again.`);
        if (o.error === 'no-supervisor') throw new DevlaneError('invalid-input', `The keep-alive supervisor of ${key} is not running, so the app could not be restarted. Delete the clone and create it again.`);
        // From here the new version is in place: remember it whatever the app does with it.
        this.known.set(key, { uid: info.uid, version: o.version ?? r.version, manifest });
        if (o.error === 'exited') throw new DevlaneError('internal', `The app in ${key} exited (code ${o.code ?? '?'}) right after the deploy. Look at the clone's log; fix and deploy again.`);
        if (o.error === 'timeout') throw new DevlaneError('timeout', `The app in ${key} did not ${port ? `listen on port ${port}` : 'start'} within ${waitSeconds} s after the deploy. Look at the clone's log.`);
        throw new DevlaneError('internal', `The deploy to ${key} failed in the clone (${o.error}). The previous version keeps running.`);
      }
      this.known.set(key, { uid: info.uid, version: o.version, manifest });
      if (logWait) {
        progress(`waiting for "${logLine}" in the log`);
        await logWait.wait(waitSeconds * 1000, req.signal);
      }
      const sentBytes = r.plan.changed.reduce((n, rel) => n + (artifact.files.find((f) => f.rel === rel)?.size ?? 0), 0);
      return { version: o.version, full: r.plan.full, sentFiles: r.plan.changed.length, sentBytes, deletedFiles: r.plan.deleted.length, target, ms: Date.now() - started };
    } finally {
      logWait?.dispose();
    }
  }

  /** Forgets what a clone has (after it was deleted or recreated). */
  forget(namespace: string, name: string): void {
    this.known.delete(`${namespace}/${name}`);
  }

  private async readState(namespace: string, name: string, container: string, uid: string): Promise<KnownState | undefined> {
    const r = await execIn(this.env.kc, namespace, name, container, ['/bin/sh', '-c', stateScript], { timeoutMs: 30_000 });
    try {
      const v = JSON.parse(r.stdout.toString('utf8').trim()) as { version: string | null; manifest?: Manifest };
      return v.version && v.manifest ? { uid, version: v.version, manifest: v.manifest } : undefined;
    } catch {
      return undefined;
    }
  }
}

function mb(n: number): string {
  return n >= 1_000_000 ? `${(n / 1_000_000).toFixed(1)} MB` : `${Math.ceil(n / 1000)} kB`;
}

/**
 * Follows a container's log from now on and resolves when the supervisor has started the app
 * again and the app printed the readiness line.
 */
class LogWaiter {
  private buffer = '';
  private seenStart = false;
  private found = false;
  private wake: (() => void) | undefined;
  private constructor(private readonly line: string, private abort: AbortController | undefined) {}

  static async start(env: CloneEnv, namespace: string, name: string, container: string, line: string): Promise<LogWaiter> {
    const w = new LogWaiter(line, undefined);
    const sink = new Writable({
      write: (chunk: Buffer, _e, cb) => {
        w.feed(chunk.toString('utf8'));
        cb();
      },
    });
    w.abort = await new Log(env.kc).log(namespace, name, container, sink, { follow: true, tailLines: 0 });
    return w;
  }

  private feed(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const l = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (l.includes('[devlane] app started')) this.seenStart = true;
      else if (this.seenStart && l.includes(this.line)) this.found = true;
    }
    if (this.found) this.wake?.();
  }

  async wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.found) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new DevlaneError('timeout', `The app did not print "${this.line}" within ${Math.round(timeoutMs / 1000)} s after the deploy. Look at the clone's log.`)), timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.wake = done;
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new DevlaneError('cancelled', 'Cancelled.'));
      });
    });
  }

  dispose(): void {
    this.abort?.abort();
  }
}
