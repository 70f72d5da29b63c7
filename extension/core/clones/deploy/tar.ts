import * as fs from 'node:fs';

/**
 * A minimal tar (ustar + pax long names) writer whose total length is known before the first
 * byte is sent: the deploy protocol announces the length so the receiver reads exactly that
 * much (`head -c N | tar x`) instead of waiting for an end of stdin that may never come.
 */
export type TarEntry =
  | { readonly path: string; readonly kind: 'file'; readonly source: string; readonly size: number; readonly mode: number; readonly mtimeMs: number; readonly tap?: (chunk: Buffer) => void }
  | { readonly path: string; readonly kind: 'data'; readonly data: Buffer; readonly mode?: number }
  /** Content known only once earlier entries were sent (e.g. their hashes), of a size known now. */
  | { readonly path: string; readonly kind: 'later'; readonly size: number; readonly data: () => Buffer };

const block = 512;
const pad = (n: number) => (block - (n % block)) % block;

function sizeOf(e: TarEntry): number {
  return e.kind === 'data' ? e.data.length : e.size;
}

function paxRecord(key: string, value: string): Buffer {
  // "%d key=value\n" where %d counts the whole record, its own digits included.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  const s = Math.floor(value).toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new Error(`tar: value ${value} does not fit in ${width} bytes`);
  buf.write(s, offset, 'ascii');
  buf[offset + width - 1] = 0;
}

function header(name: string, size: number, mode: number, mtimeSec: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(block);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, mode & 0o7777);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtimeSec);
  h.fill(0x20, 148, 156);
  h.write(type, 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  const cs = sum.toString(8).padStart(6, '0');
  h.write(cs, 148, 'ascii');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** The headers of one entry: a pax header first when the path does not fit ustar's 100 bytes. */
function headersOf(e: TarEntry): Buffer {
  const mode = e.kind === 'file' ? e.mode : e.kind === 'data' ? (e.mode ?? 0o644) : 0o644;
  const mtime = e.kind === 'file' ? e.mtimeMs / 1000 : 0;
  if (Buffer.byteLength(e.path) <= 100) return header(e.path, sizeOf(e), mode, mtime, '0');
  const rec = paxRecord('path', e.path);
  return Buffer.concat([header('PaxHeader', rec.length, 0o644, mtime, 'x'), rec, Buffer.alloc(pad(rec.length)), header(Buffer.from(e.path).subarray(0, 100).toString('utf8').replace(/\uFFFD+$/, ''), sizeOf(e), mode, mtime, '0')]);
}

/** Exact byte length of the archive `tarStream(entries)` produces. */
export function tarLength(entries: readonly TarEntry[]): number {
  let n = 2 * block;
  for (const e of entries) n += headersOf(e).length + sizeOf(e) + pad(sizeOf(e));
  return n;
}

/**
 * The archive as chunks, reading files as it goes. A file whose size changed since it was
 * listed fails the stream (the announced length would be wrong).
 */
export async function* tarStream(entries: readonly TarEntry[], chunkSize = 1024 * 1024): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield headersOf(e);
    if (e.kind === 'data') {
      if (e.data.length > 0) yield e.data;
    } else if (e.kind === 'later') {
      const data = e.data();
      if (data.length !== e.size) throw new Error(`tar: ${e.path} is ${data.length} bytes, announced ${e.size}`);
      if (data.length > 0) yield data;
    } else {
      let sent = 0;
      const fh = await fs.promises.open(e.source, 'r');
      try {
        for (;;) {
          const want = Math.min(chunkSize, e.size - sent);
          if (want === 0) break;
          const buf = Buffer.allocUnsafe(want);
          const { bytesRead } = await fh.read(buf, 0, want, sent);
          if (bytesRead === 0) throw new Error(`${e.source} shrank while being sent; build again and redeploy`);
          sent += bytesRead;
          const chunk = bytesRead === want ? buf : buf.subarray(0, bytesRead);
          e.tap?.(chunk);
          yield chunk;
        }
        const st = await fh.stat();
        if (st.size !== e.size) throw new Error(`${e.source} changed size while being sent; build again and redeploy`);
      } finally {
        await fh.close();
      }
    }
    const p = pad(sizeOf(e));
    if (p > 0) yield Buffer.alloc(p);
  }
  yield Buffer.alloc(2 * block);
}
