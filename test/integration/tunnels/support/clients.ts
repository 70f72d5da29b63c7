import * as net from 'node:net';
import { encodeConnect } from '../../../../dataplane/protocol/socks5';

/** Minimal SOCKS5 and HTTP-CONNECT clients written against the RFCs, to drive the proxies as apps do. */

function readUntil(s: net.Socket, enough: (b: Buffer) => boolean, timeoutMs = 30_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => done(new Error('timed out reading from proxy')), timeoutMs);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (enough(buf)) done();
    };
    const onEnd = () => done(enough(buf) ? undefined : new Error(`proxy closed after ${buf.length} bytes: ${JSON.stringify(buf.toString('latin1').slice(0, 80))}`));
    const done = (e?: Error) => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('error', done);
      if (e) reject(e);
      else resolve(buf);
    };
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('error', done);
  });
}

/** Opens a SOCKS5 CONNECT (no auth, or username/password) and resolves with the reply code and socket. */
export async function socksConnect(proxyPort: number, host: string, port: number, creds?: { username: string; password: string }): Promise<{ reply: number; socket: net.Socket }> {
  const s = net.connect({ host: '127.0.0.1', port: proxyPort });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  s.write(Buffer.from(creds ? [5, 1, 2] : [5, 1, 0]));
  const choice = await readUntil(s, (b) => b.length >= 2);
  if (choice[1] === 0xff) return { reply: 0xff, socket: s };
  let rest = choice.subarray(2);
  if (creds) {
    const u = Buffer.from(creds.username);
    const p = Buffer.from(creds.password);
    s.write(Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]));
    const st = rest.length >= 2 ? rest : await readUntil(s, (b) => b.length >= 2);
    rest = st.subarray(2);
    if (st[1] !== 0) return { reply: 0xfe, socket: s };
  }
  s.write(encodeConnect({ host, port }));
  const reply = rest.length >= 10 ? rest : await readUntil(s, (b) => b.length >= 10);
  if (reply.length > 10) s.unshift(reply.subarray(10));
  return { reply: reply[1]!, socket: s };
}

/** GET over an already-open tunnel; resolves with the whole response (status line, headers, body). */
export async function httpGetOver(s: net.Socket, host: string, pathName = '/'): Promise<string> {
  s.write(`GET ${pathName} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function socksGet(proxyPort: number, host: string, port: number, pathName = '/'): Promise<string> {
  const { reply, socket } = await socksConnect(proxyPort, host, port);
  if (reply !== 0) {
    socket.destroy();
    throw new Error(`SOCKS reply ${reply}`);
  }
  return httpGetOver(socket, host, pathName);
}

export async function connectProxyGet(proxyPort: number, host: string, port: number): Promise<{ status: string; body?: string }> {
  const s = net.connect({ host: '127.0.0.1', port: proxyPort });
  s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  const head = await readUntil(s, (b) => b.includes('\r\n\r\n'));
  const status = head.toString('latin1').split('\r\n')[0]!;
  if (!status.includes(' 200 ')) {
    s.destroy();
    return { status };
  }
  const end = head.indexOf('\r\n\r\n') + 4;
  if (head.length > end) s.unshift(head.subarray(end));
  return { status, body: await httpGetOver(s, host) };
}

/**
 * Reads `socket` like a reader that keeps stalling: paused for a tick at every MiB, so a proxy's
 * writes to it back up while more arrives from the far side. Resolves with every byte once `length`
 * bytes arrived (then destroys the socket), or at the end of the stream when no length is given.
 */
export function readStalling(socket: net.Socket, length?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise<Buffer>((resolve, reject) => {
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const before = got;
      got += c.length;
      if (Math.floor(before / 2 ** 20) !== Math.floor(got / 2 ** 20)) {
        socket.pause();
        setImmediate(() => socket.resume());
      }
      if (length !== undefined && got >= length) {
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.once('end', () => (length === undefined ? resolve(Buffer.concat(chunks)) : undefined));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed after ${got}${length === undefined ? '' : ` of ${length}`} bytes`)));
  });
}
