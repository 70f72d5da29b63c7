/**
 * Waiting without sleeping: poll a condition until it holds or a deadline passes, and say what
 * was awaited when it does not.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const interval = opts.intervalMs ?? 100;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${what}${last ? `: last error ${last instanceof Error ? last.message : String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Resolves with the first emission of `event` on an EventEmitter-like object, or rejects at the deadline. */
export function once<T = unknown>(emitter: { once(event: string, l: (v: T) => void): unknown; off?(event: string, l: (v: T) => void): unknown }, event: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`)), timeoutMs);
    emitter.once(event, (v: T) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}
