/**
 * Columns from one line of `tcpdump -l -nn -tttt` (optionally `-i any`, which adds the interface and
 * direction). tcpdump's text is meant for people, but it is the only live, line-buffered output it
 * has; the format below is tcpdump 4.99's print-ip/print-tcp/print-udp layout, read by tokens. A
 * line that does not fit keeps its text as the summary, so nothing is ever lost, only less split.
 */

export interface PacketRow {
  /** `YYYY-MM-DD HH:MM:SS.ffffff` in the capturing host's local time (what -tttt prints). */
  readonly time: string;
  readonly iface?: string;
  /** In, Out, B(roadcast), M(ulticast), P (to another host), from a `-i any` capture. */
  readonly direction?: string;
  readonly source: string;
  readonly destination: string;
  readonly protocol: string;
  /** TCP flags as tcpdump writes them: S, S., ., P., F., R. */
  readonly flags: string;
  readonly length?: number;
  readonly summary: string;
  readonly raw: string;
}

const directions = new Set(['In', 'Out', 'B', 'M', 'P']);

export function parseTcpdumpLine(raw: string): PacketRow {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const plain: PacketRow = { time: '', source: '', destination: '', protocol: '', flags: '', summary: line, raw: line };
  const [date, clock] = [line.slice(0, 10), line.slice(11, 26)];
  if (!isDate(date) || line[10] !== ' ' || !isClock(clock)) return plain;
  let rest = line.slice(26).trimStart();
  let iface: string | undefined;
  let direction: string | undefined;
  const t = tokens(rest, 2);
  if (t.length === 2 && directions.has(t[1]!.word)) {
    iface = t[0]!.word;
    direction = t[1]!.word;
    rest = rest.slice(t[1]!.end).trimStart();
  }
  const base = { time: `${date} ${clock}`, raw: line, ...(iface ? { iface } : {}), ...(direction ? { direction } : {}) };
  if (rest.startsWith('IP ') || rest.startsWith('IP6 ')) return { ...base, ...parseIp(rest.slice(rest.indexOf(' ') + 1)) };
  const sp = rest.indexOf(' ');
  const first = sp < 0 ? rest : rest.slice(0, sp);
  const protocol = first.endsWith(',') ? first.slice(0, -1) : first;
  const summary = sp < 0 ? '' : rest.slice(sp + 1);
  return { ...base, source: '', destination: '', protocol, flags: '', summary, ...lengthOf(summary) };
}

function parseIp(s: string): Omit<PacketRow, 'time' | 'raw'> {
  const arrow = s.indexOf(' > ');
  const colon = arrow < 0 ? -1 : s.indexOf(': ', arrow + 3);
  if (arrow < 0 || colon < 0) return { source: '', destination: '', protocol: 'IP', flags: '', summary: s };
  const src = endpoint(s.slice(0, arrow));
  const dst = endpoint(s.slice(arrow + 3, colon));
  const payload = s.slice(colon + 2);
  const common = { source: src.text, destination: dst.text };
  if (payload.startsWith('Flags [')) {
    const close = payload.indexOf(']');
    const flags = payload.slice(7, close);
    const len = lengthOf(payload);
    // After "length N: " tcpdump prints what it decoded from the payload (HTTP: GET /x ...).
    const app = len.end !== undefined && payload[len.end] === ':' ? payload.slice(len.end + 2) : '';
    const afterFlags = payload.slice(close + 1);
    const tcpText = withoutOptions(afterFlags.startsWith(', ') ? afterFlags.slice(2) : afterFlags);
    return { ...common, protocol: 'TCP', flags, length: len.length, summary: app || tcpText };
  }
  const hasPorts = src.port !== undefined || dst.port !== undefined;
  const sp = payload.indexOf(' ');
  const token = sp < 0 ? payload : payload.slice(0, sp);
  const word = token.endsWith(',') ? token.slice(0, -1) : token;
  let protocol: string;
  if (word === 'UDP') protocol = 'UDP';
  else if (word === 'HBH') protocol = 'ICMP6';
  else if (word.startsWith('ICMP')) protocol = word;
  else if (hasPorts) protocol = 'UDP'; // tcpdump names the application (domain, NTP, ...) but it rides on UDP; TCP always prints Flags
  else protocol = word;
  const { length } = lengthOf(payload);
  return { ...common, protocol, flags: '', ...(length === undefined ? {} : { length }), summary: payload };
}

/** tcpdump -nn writes `a.b.c.d.port` and `v6addr.port`; shown as `a.b.c.d:port`, `[v6]:port`. */
function endpoint(s: string): { text: string; port?: number } {
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) {
    const parts = s.split('.');
    if (parts.length === 5) return { text: `${parts.slice(0, 4).join('.')}:${parts[4]}`, port: Number(parts[4]) };
    return { text: s };
  }
  const tail = s.slice(lastColon + 1).split('.');
  if (tail.length === 2 || tail.length === 5) {
    const port = tail.pop() as string;
    return { text: `[${s.slice(0, lastColon + 1)}${tail.join('.')}]:${port}`, port: Number(port) };
  }
  return { text: s };
}

function lengthOf(s: string): { length?: number; end?: number } {
  const at = s.startsWith('length ') ? 0 : s.indexOf(', length ');
  if (at < 0) return {};
  const from = at === 0 ? 7 : at + 9;
  let end = from;
  while (end < s.length && s.charCodeAt(end) >= 48 && s.charCodeAt(end) <= 57) end++;
  if (end === from) return {};
  return { length: Number(s.slice(from, end)), end };
}

function withoutOptions(s: string): string {
  const at = s.indexOf(', options [');
  if (at < 0) return s;
  const close = s.indexOf(']', at);
  return close < 0 ? s.slice(0, at) : s.slice(0, at) + s.slice(close + 1);
}

function tokens(s: string, n: number): { word: string; end: number }[] {
  const out: { word: string; end: number }[] = [];
  let i = 0;
  while (out.length < n && i < s.length) {
    while (s[i] === ' ') i++;
    const start = i;
    while (i < s.length && s[i] !== ' ') i++;
    if (i > start) out.push({ word: s.slice(start, i), end: i });
  }
  return out;
}

function isDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
function isDate(s: string): boolean {
  return s.length === 10 && s[4] === '-' && s[7] === '-' && isDigits(s, 0, 4) && isDigits(s, 5, 7) && isDigits(s, 8, 10);
}
function isClock(s: string): boolean {
  return s.length === 15 && s[2] === ':' && s[5] === ':' && s[8] === '.' && isDigits(s, 0, 2) && isDigits(s, 3, 5) && isDigits(s, 6, 8) && isDigits(s, 9, 15);
}
