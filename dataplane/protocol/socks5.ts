import { more, parseError, type ParseResult, type Target } from './parse';

/** SOCKS5 (RFC 1928) and its username/password sub-negotiation (RFC 1929): pure parsers and encoders. */

export const SOCKS_VERSION = 5;
export const AUTH_NONE = 0x00;
export const AUTH_USERPASS = 0x02;
export const AUTH_NO_ACCEPTABLE = 0xff;

export const CMD_CONNECT = 1;
export const CMD_BIND = 2;
export const CMD_UDP_ASSOCIATE = 3;

export const ATYP_IPV4 = 1;
export const ATYP_DOMAIN = 3;
export const ATYP_IPV6 = 4;

export const Reply = {
  Succeeded: 0,
  GeneralFailure: 1,
  NotAllowed: 2,
  NetworkUnreachable: 3,
  HostUnreachable: 4,
  ConnectionRefused: 5,
  TtlExpired: 6,
  CommandNotSupported: 7,
  AddressTypeNotSupported: 8,
} as const;
export type Reply = (typeof Reply)[keyof typeof Reply];

export interface Greeting {
  readonly methods: readonly number[];
}

export function parseGreeting(buf: Uint8Array): ParseResult<Greeting> {
  if (buf.length < 1) return more;
  if (buf[0] !== SOCKS_VERSION) return parseError(`not SOCKS5 (version byte ${buf[0]})`);
  if (buf.length < 2) return more;
  const n = buf[1]!;
  if (n === 0) return parseError('SOCKS5 greeting offers no authentication method');
  if (buf.length < 2 + n) return more;
  return { kind: 'ok', value: { methods: [...buf.subarray(2, 2 + n)] }, consumed: 2 + n };
}

export function encodeMethodChoice(method: number): Buffer {
  return Buffer.from([SOCKS_VERSION, method]);
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export function parseUserPass(buf: Uint8Array): ParseResult<Credentials> {
  if (buf.length < 1) return more;
  if (buf[0] !== 1) return parseError(`unknown username/password sub-negotiation version ${buf[0]}`);
  if (buf.length < 2) return more;
  const ulen = buf[1]!;
  if (buf.length < 3 + ulen) return more;
  const plen = buf[2 + ulen]!;
  const end = 3 + ulen + plen;
  if (buf.length < end) return more;
  const text = (a: number, b: number) => Buffer.from(buf.buffer, buf.byteOffset + a, b - a).toString('utf8');
  return { kind: 'ok', value: { username: text(2, 2 + ulen), password: text(3 + ulen, end) }, consumed: end };
}

export function encodeUserPassStatus(ok: boolean): Buffer {
  return Buffer.from([1, ok ? 0 : 1]);
}

export interface Request {
  readonly command: number;
  readonly target: Target;
  readonly addressType: number;
}

/**
 * Parses a request. Unknown commands and address types still parse (as long as the address can be
 * delimited) so the caller can answer with the right reply code instead of dropping the connection.
 */
export function parseRequest(buf: Uint8Array): ParseResult<Request> {
  if (buf.length < 1) return more;
  if (buf[0] !== SOCKS_VERSION) return parseError(`not a SOCKS5 request (version byte ${buf[0]})`);
  if (buf.length < 4) return more;
  const command = buf[1]!;
  const atyp = buf[3]!;
  let host: string;
  let at: number;
  if (atyp === ATYP_IPV4) {
    if (buf.length < 10) return more;
    host = `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`;
    at = 8;
  } else if (atyp === ATYP_IPV6) {
    if (buf.length < 22) return more;
    host = formatIpv6(buf.subarray(4, 20));
    at = 20;
  } else if (atyp === ATYP_DOMAIN) {
    if (buf.length < 5) return more;
    const len = buf[4]!;
    if (len === 0) return parseError('SOCKS5 request with an empty domain name');
    if (buf.length < 5 + len + 2) return more;
    host = Buffer.from(buf.buffer, buf.byteOffset + 5, len).toString('latin1');
    at = 5 + len;
  } else {
    return parseError(`unknown SOCKS5 address type ${atyp}`);
  }
  const port = (buf[at]! << 8) | buf[at + 1]!;
  return { kind: 'ok', value: { command, addressType: atyp, target: { host, port } }, consumed: at + 2 };
}

/** Lower-case, zero-compressed (RFC 5952) text of 16 bytes. */
export function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** A reply with an all-zero IPv4 bind address: clients do not use it for CONNECT through a tunnel. */
export function encodeReply(reply: Reply): Buffer {
  return Buffer.from([SOCKS_VERSION, reply, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0]);
}

/** Encodes a CONNECT request (used by tests and benchmarks acting as SOCKS clients). */
export function encodeConnect(t: Target): Buffer {
  const name = Buffer.from(t.host, 'latin1');
  return Buffer.concat([Buffer.from([SOCKS_VERSION, CMD_CONNECT, 0, ATYP_DOMAIN, name.length]), name, Buffer.from([t.port >> 8, t.port & 0xff])]);
}
