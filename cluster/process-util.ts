import * as fs from 'node:fs';

export function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Running and not a zombie. */
export function isAlive(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && f[0] !== 'Z' && f[0] !== 'X';
}

/** Live processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    const f = statFields(pid);
    // stat fields after the name: state ppid pgrp ...
    if (f && f[2] === String(pgid) && f[0] !== 'Z' && f[0] !== 'X') out.push(pid);
  }
  return out;
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | false | undefined> | T | false | undefined, timeoutMs: number, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== false && v !== undefined) return v;
    } catch (e) {
      // A DevlaneError from the probe means "give up now" (e.g. the process we wait for exited).
      if ((e as { name?: string }).name === 'DevlaneError') throw e;
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message ?? String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`, to a process group (or a single process), and wait
 * until none of it is left. Never throws for processes that are already gone.
 */
export async function killGroupAndWait(pid: number, graceMs: number, group = true): Promise<void> {
  const alive = () => (group ? groupMembers(pid).length > 0 || isAlive(pid) : isAlive(pid));
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(group ? -pid : pid, sig);
    } catch {
      // already gone
    }
  };
  if (!alive()) return;
  send('SIGTERM');
  const termDeadline = Date.now() + graceMs;
  while (alive() && Date.now() < termDeadline) await new Promise((r) => setTimeout(r, 100));
  if (!alive()) return;
  send('SIGKILL');
  if (group) for (const m of groupMembers(pid)) try { process.kill(m, 'SIGKILL'); } catch { /* gone */ }
  const killDeadline = Date.now() + 10_000;
  while (alive() && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 100));
}

/**
 * A lock between processes (a file holding the owner's PID, created exclusively). A lock whose
 * owner has died is taken over. Resolves to the release function.
 */
export async function acquireLock(file: string, timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => {
        if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readPid(file);
    if (owner === undefined || !isAlive(owner)) {
      // Stale (or still being written: then the owner's PID appears within a moment and we wait).
      if (owner !== undefined) fs.rmSync(file, { force: true });
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the lock ${file} (held by PID ${owner})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
