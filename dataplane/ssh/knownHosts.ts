import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * OpenSSH known_hosts: parsing, host matching (plain, wildcard, negated and hashed `|1|salt|hash`
 * entries) and the verdict for a key a server presented. Pure; reading and appending the file is the
 * caller's job.
 */

export interface KnownHostEntry {
  readonly marker?: 'cert-authority' | 'revoked';
  readonly hosts: string;
  readonly keyType: string;
  readonly key: Buffer;
  readonly line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const fields = (lines[i] ?? '').trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) continue;
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@cert-authority') marker = 'cert-authority';
      else if (m === '@revoked') marker = 'revoked';
      else continue;
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    out.push({ ...(marker ? { marker } : {}), hosts, keyType, key: Buffer.from(b64, 'base64'), line: i + 1 });
  }
  return out;
}

/** How OpenSSH names a host in known_hosts: the bare name on port 22, `[name]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

/** Glob with `*` and `?`, case-insensitive, as OpenSSH's match_pattern. */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  // Iterative matcher with single-star backtracking: linear enough for host names, no regex built from input.
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

function hashedMatch(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1' || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Whether a known_hosts host field (comma list, `!` negation, wildcards, or one hashed name) names `name`. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) return hashedMatch(field, name);
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pat = negated ? raw.slice(1) : raw;
    if (!pat || !globMatch(pat, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** The key type an SSH public-key blob declares (its first string field). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const n = blob.readUInt32BE(0);
  return n > 0 && n <= 64 && blob.length >= 4 + n ? blob.toString('latin1', 4, 4 + n) : '';
}

/** `SHA256:…` as OpenSSH prints it (base64 without padding). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyVerdict =
  | { readonly status: 'known'; readonly line: number }
  | { readonly status: 'unknown'; readonly knownTypes: readonly string[] }
  | { readonly status: 'changed'; readonly line: number; readonly knownTypes: readonly string[] }
  | { readonly status: 'revoked'; readonly line: number };

export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const type = keyTypeOf(blob);
  const forHost = entries.filter((e) => e.marker !== 'cert-authority' && hostFieldMatches(e.hosts, name));
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(blob));
  if (revoked) return { status: 'revoked', line: revoked.line };
  const plain = forHost.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.key.equals(blob));
  if (same) return { status: 'known', line: same.line };
  const knownTypes = [...new Set(plain.map((e) => keyTypeOf(e.key) || e.keyType))];
  const clash = plain.find((e) => (keyTypeOf(e.key) || e.keyType) === type);
  if (clash) return { status: 'changed', line: clash.line, knownTypes };
  return { status: 'unknown', knownTypes };
}

/** A line to append after the user trusted a key; hashed like OpenSSH's HashKnownHosts when asked. */
export function knownHostsLine(host: string, port: number, blob: Buffer, hashed: boolean, salt: Buffer = randomBytes(20)): string {
  const name = knownHostsName(host, port);
  const hosts = hashed ? `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}` : name;
  return `${hosts} ${keyTypeOf(blob)} ${blob.toString('base64')}`;
}

const algorithmsForType: Record<string, readonly string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * Host-key algorithms with the ones already known for this host first, as OpenSSH does, so a
 * server with several keys is not reported as "unknown" merely because another type was negotiated.
 */
export function preferKnownAlgorithms(defaults: readonly string[], knownTypes: readonly string[]): string[] {
  const first = knownTypes.flatMap((t) => algorithmsForType[t] ?? [t]).filter((a) => defaults.includes(a));
  return [...new Set([...first, ...defaults])];
}
