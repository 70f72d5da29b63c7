import { globMatch } from './knownHosts';

/**
 * The subset of ssh_config(5) a tunnel needs: Host blocks with patterns and negation, HostName,
 * User, Port, IdentityFile, IdentitiesOnly and ProxyJump chains. First value wins (IdentityFile
 * accumulates), as in OpenSSH. `Match` blocks and `Include` are not evaluated; they are reported as
 * warnings instead of silently changing meaning.
 */

export interface SshConfigBlock {
  readonly patterns: readonly string[] | 'all';
  readonly options: readonly { readonly keyword: string; readonly args: readonly string[]; readonly line: number }[];
}

export interface SshConfig {
  readonly blocks: readonly SshConfigBlock[];
  readonly warnings: readonly string[];
}

/** Splits a config line into words; double quotes group words, as OpenSSH's argv_split. */
export function splitArgs(s: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (const ch of s) {
    if (quoted) {
      if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') {
      quoted = true;
      inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quoted) return undefined;
  if (inWord) out.push(cur);
  return out;
}

export function parseSshConfig(text: string): SshConfig {
  const blocks: { patterns: string[] | 'all'; options: { keyword: string; args: string[]; line: number }[] }[] = [{ patterns: 'all', options: [] }];
  const warnings: string[] = [];
  let skipping = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) {
      warnings.push(`line ${i + 1}: cannot read "${line.slice(0, 40)}"`);
      continue;
    }
    const keyword = m[1]!.toLowerCase();
    const args = splitArgs(m[2]!);
    if (!args || args.length === 0) {
      warnings.push(`line ${i + 1}: ${m[1]} has no value or an unclosed quote`);
      continue;
    }
    if (keyword === 'host') {
      blocks.push({ patterns: args, options: [] });
      skipping = false;
    } else if (keyword === 'match') {
      skipping = !(args.length === 1 && args[0]!.toLowerCase() === 'all');
      if (skipping) warnings.push(`line ${i + 1}: Match blocks are not evaluated by Devlane; their options are ignored`);
      else blocks.push({ patterns: 'all', options: [] });
    } else if (keyword === 'include') {
      warnings.push(`line ${i + 1}: Include is not followed by Devlane`);
    } else if (!skipping) {
      blocks[blocks.length - 1]!.options.push({ keyword, args, line: i + 1 });
    }
  }
  return { blocks, warnings };
}

function blockMatches(b: SshConfigBlock, host: string): boolean {
  if (b.patterns === 'all') return true;
  let hit = false;
  for (const p of b.patterns) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), host)) return false;
    } else if (globMatch(p, host)) {
      hit = true;
    }
  }
  return hit;
}

/** One SSH connection to make, fully resolved. */
export interface SshHop {
  /** The name the user wrote (config alias or host); known_hosts uses `hostName`. */
  readonly alias: string;
  readonly hostName: string;
  readonly port: number;
  readonly user: string;
  /** Candidate private keys; files that do not exist are skipped when connecting. */
  readonly identityFiles: readonly string[];
  readonly identitiesOnly: boolean;
}

export interface ResolveEnv {
  readonly home: string;
  readonly localUser: string;
}

/** Expands the % tokens and ~ OpenSSH allows in IdentityFile and HostName. */
export function expandTokens(s: string, t: { home: string; localUser: string; host: string; alias: string; user: string; port: number }): string {
  const tilde = s.startsWith('~/') || s === '~' ? t.home + s.slice(1) : s;
  return tilde.replace(/%([%dhnpru])/g, (_all, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'd':
        return t.home;
      case 'h':
        return t.host;
      case 'n':
        return t.alias;
      case 'p':
        return String(t.port);
      case 'r':
        return t.user;
      default:
        return t.localUser;
    }
  });
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

interface Resolved extends SshHop {
  readonly proxyJump?: readonly string[];
}

/** Resolves one host name through the config, with explicit overrides (from `user@host:port`). */
export function resolveHost(cfg: SshConfig, alias: string, env: ResolveEnv, override: { user?: string; port?: number } = {}): Resolved {
  const first = new Map<string, string[]>();
  const identity: string[] = [];
  for (const b of cfg.blocks) {
    if (!blockMatches(b, alias)) continue;
    for (const o of b.options) {
      if (o.keyword === 'identityfile') identity.push(o.args[0]!);
      else if (!first.has(o.keyword)) first.set(o.keyword, [...o.args]);
    }
  }
  const one = (k: string) => first.get(k)?.[0];
  const port = override.port ?? (Number(one('port')) || 22);
  const user = override.user ?? one('user') ?? env.localUser;
  const rawHostName = one('hostname') ?? alias;
  const tokens = { home: env.home, localUser: env.localUser, host: alias, alias, user, port };
  const hostName = expandTokens(rawHostName, tokens);
  // As OpenSSH: the default keys apply only when no IdentityFile is configured (`IdentityFile none` means no key).
  const configured = identity.length > 0 ? identity.filter((f) => f.toLowerCase() !== 'none') : DEFAULT_IDENTITIES.map((n) => `~/.ssh/${n}`);
  const identityFiles = configured.map((f) => expandTokens(f, { ...tokens, host: hostName }));
  const jump = first.get('proxyjump');
  const proxyJump = jump && jump[0]!.toLowerCase() !== 'none' ? jump.join(',').split(',').filter(Boolean) : undefined;
  return { alias, hostName, port, user, identityFiles, identitiesOnly: one('identitiesonly')?.toLowerCase() === 'yes', ...(proxyJump ? { proxyJump } : {}) };
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`, as ProxyJump and the connect box accept. */
export function parseDestination(s: string): { host: string; user?: string; port?: number } | undefined {
  let rest = s.startsWith('ssh://') ? s.slice(6) : s;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let port: number | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return undefined;
    const after = rest.slice(close + 1);
    if (after.startsWith(':')) port = Number(after.slice(1));
    else if (after !== '') return undefined;
    rest = rest.slice(1, close);
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0) {
      port = Number(rest.slice(colon + 1));
      rest = rest.slice(0, colon);
    }
  }
  if (!rest || (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))) return undefined;
  return { host: rest, ...(user ? { user } : {}), ...(port !== undefined ? { port } : {}) };
}

/**
 * The hops to reach `destination`, first jump host first and the destination last. A ProxyJump
 * list is walked like `ssh -J a,b`: the first jump host keeps its own ProxyJump, later ones are
 * reached through the previous hop.
 */
export function resolveChain(cfg: SshConfig, destination: string, env: ResolveEnv, depth = 0): SshHop[] {
  if (depth > 8) throw new Error(`ProxyJump chain for ${destination} is too deep (a loop?)`);
  const d = parseDestination(destination);
  if (!d) throw new Error(`"${destination}" is not [user@]host[:port]`);
  const target = resolveHost(cfg, d.host, env, d);
  const { proxyJump, ...hop } = target;
  if (!proxyJump || proxyJump.length === 0) return [hop];
  const [firstJump, ...others] = proxyJump;
  const chain = resolveChain(cfg, firstJump!, env, depth + 1);
  for (const j of others) {
    const jd = parseDestination(j);
    if (!jd) throw new Error(`ProxyJump entry "${j}" is not [user@]host[:port]`);
    const { proxyJump: _ignored, ...jh } = resolveHost(cfg, jd.host, env, jd);
    chain.push(jh);
  }
  chain.push(hop);
  return chain;
}
