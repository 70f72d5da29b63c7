import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { Reply } from '../protocol/socks5';
import { DialError, type Dialer } from './proxyServer';

const replyFor: Record<string, Reply> = {
  ECONNREFUSED: Reply.ConnectionRefused,
  ENOTFOUND: Reply.HostUnreachable,
  EAI_AGAIN: Reply.HostUnreachable,
  EHOSTUNREACH: Reply.HostUnreachable,
  ENETUNREACH: Reply.NetworkUnreachable,
  ETIMEDOUT: Reply.TtlExpired,
};

/** Connects from this machine: the transport of the proxy's own tests and of "tunnel off" checks. */
export function directDialer(timeoutMs = 15_000): Dialer {
  return (target) =>
    new Promise<Duplex>((resolve, reject) => {
      const s = net.connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
      s.setTimeout(timeoutMs, () => s.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })));
      s.once('connect', () => {
        s.setTimeout(0);
        s.off('error', onError);
        resolve(s);
      });
      const onError = (e: NodeJS.ErrnoException) => reject(new DialError(e.message, replyFor[e.code ?? ''] ?? Reply.GeneralFailure));
      s.once('error', onError);
    });
}
