import type { Duplex } from 'node:stream';

/**
 * Giving a packet's memory back the moment it has been written to the client.
 *
 * ssh2 decrypts every SSH packet into a fresh ~32 KiB buffer. Its memory is freed only when V8
 * collects the Buffer object, and at full speed V8 collects the young generation every 17–30 MB of
 * data. So up to ~30 MB of finished packets waited for the collector, the C heap grew to hold them,
 * and glibc kept those pages after the transfer (fragmented, so never trimmed): RSS went from 62 MB
 * fresh to 92–99 MB after a few GiB. Detaching the buffer (`ArrayBuffer.prototype.transfer(0)`)
 * once the client socket has written it frees the memory at once, and the next packet reuses it.
 *
 * That is only safe when the chunk is the sole view of its memory. Streams say so by carrying
 * CHUNKS_OWNED; the SSH transport marks channels whose packets come from a decipher that copies
 * each packet into its own buffer (see ssh/transport.ts). Anything else (agent streams cut from
 * WebSocket messages, native in-place decryption) is left to the collector.
 *
 * Uploads make the same garbage the other way: ssh2's plaintext and encrypted packets, which the
 * SSH socket frees once written (ssh/transport.ts), and the client socket's reads. Those are left to
 * the collector on purpose: freeing them too cut an upload's RSS growth from 20 to 10 MB but left
 * glibc nothing live at the heap's top, so it gave pages back and faulted them in again on every
 * burst (252,000 page faults per GiB, +0.4 s of system CPU, upload throughput 0.95 → 0.70 of ssh -D).
 */
export const CHUNKS_OWNED: unique symbol = Symbol('devlane.chunksOwned');

type Transferable = ArrayBuffer & { transfer(length: number): ArrayBuffer };

/** Node 20 has it only behind --harmony-rab-gsab-transfer (see DataPlaneClient); V8 ≥ 11.4 ships it. */
export const canRelease = typeof (ArrayBuffer.prototype as Partial<Transferable>).transfer === 'function';

/** Says that every 'data' chunk of this stream is the only view of its own memory. */
export function markChunksOwned<T extends Duplex>(stream: T): T {
  Object.defineProperty(stream, CHUNKS_OWNED, { value: true });
  return stream;
}

export function ownsChunks(stream: Duplex): boolean {
  return canRelease && (stream as Duplex & { [CHUNKS_OWNED]?: true })[CHUNKS_OWNED] === true;
}

/**
 * Frees a chunk's memory. Chunks in Buffer's shared pool (small ones) are never touched: the
 * pool holds other buffers too.
 */
export function release(chunk: Uint8Array): void {
  if (chunk.buffer.byteLength > Buffer.poolSize) (chunk.buffer as Transferable).transfer(0);
}
