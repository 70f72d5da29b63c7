import { Emitter, type Disposable } from '../events';
import type { Logger } from '../log';
import type { Session, SessionKind } from './session';

export type RegistryChange = { readonly type: 'added' | 'changed' | 'removed'; readonly session: Session };

/**
 * The one registry of live sessions. Views and the status bar read it; deactivate disposes it,
 * which ends every session (in parallel, each bounded so a stuck one cannot hang shutdown) — except
 * that sessions carried by another end before their carrier.
 */
export class SessionRegistry implements Disposable {
  private readonly sessions = new Map<string, { session: Session; sub: Disposable }>();
  private readonly changes = new Emitter<RegistryChange>();
  readonly onDidChange = this.changes.event;

  constructor(private readonly log: Logger, private readonly disposeTimeoutMs = 5_000) {}

  add<S extends Session>(session: S): S {
    if (this.sessions.has(session.id)) throw new Error(`session ${session.id} is already registered`);
    const sub = session.onDidChangeStatus(() => this.changes.fire({ type: 'changed', session }));
    this.sessions.set(session.id, { session, sub });
    this.changes.fire({ type: 'added', session });
    return session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id)?.session;
  }

  list(kind?: SessionKind): Session[] {
    const all = [...this.sessions.values()].map((e) => e.session);
    return kind ? all.filter((s) => s.kind === kind) : all;
  }

  /** Ends one session and forgets it; the sessions it carries end first. */
  async end(id: string): Promise<void> {
    const entry = this.sessions.get(id);
    if (!entry) return;
    const carried = [...this.sessions.values()].filter((e) => e.session.carriedBy === id).map((e) => e.session.id);
    await Promise.all(carried.map((c) => this.end(c)));
    if (this.sessions.get(id) !== entry) return;
    this.sessions.delete(id);
    entry.sub.dispose();
    try {
      await this.bounded(entry.session);
    } finally {
      this.changes.fire({ type: 'removed', session: entry.session });
    }
  }

  async endAll(): Promise<void> {
    // Carriers end their passengers first (see end()); a passenger whose carrier is gone ends on its own.
    const roots = [...this.sessions.values()].filter((e) => e.session.carriedBy === undefined || !this.sessions.has(e.session.carriedBy));
    await Promise.all(roots.map((e) => this.end(e.session.id)));
    // Anything left (a cycle, or a session added meanwhile).
    await Promise.all([...this.sessions.keys()].map((id) => this.end(id)));
  }

  dispose(): void {
    void this.endAll().finally(() => this.changes.dispose());
  }

  private async bounded(session: Session): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.disposeTimeoutMs);
    });
    try {
      const r = await Promise.race([session.dispose().then(() => 'done' as const), timeout]);
      if (r === 'timeout') this.log.warn(`session ${session.label} (${session.id}) did not end within ${this.disposeTimeoutMs} ms`);
    } catch (e) {
      this.log.error(`ending session ${session.label} failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
