/**
 * ANSI SGR (Select Graphic Rendition) colours in log lines, turned into styled spans. Only SGR is
 * rendered; every other escape sequence (cursor movement, OSC titles) is dropped, because a log
 * view is not a terminal.
 */

export interface AnsiStyle {
  /** 0–255 palette index or '#rrggbb'. */
  readonly fg?: number | string;
  readonly bg?: number | string;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly italic?: boolean;
  readonly underline?: boolean;
  readonly inverse?: boolean;
  readonly strike?: boolean;
}

export interface AnsiSpan {
  readonly text: string;
  readonly style: AnsiStyle;
}

type MutableStyle = { -readonly [K in keyof AnsiStyle]: AnsiStyle[K] };

const ESC = 0x1b;

/** Splits a line into spans of equal style; text without escapes comes back as one plain span. */
export function parseAnsi(line: string): AnsiSpan[] {
  if (line.indexOf('\x1b') < 0) return line === '' ? [] : [{ text: line, style: {} }];
  const spans: AnsiSpan[] = [];
  let style: MutableStyle = {};
  let text = '';
  const flush = () => {
    if (text !== '') spans.push({ text, style: { ...style } });
    text = '';
  };
  let i = 0;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c !== ESC) {
      text += line[i];
      i++;
      continue;
    }
    const next = line[i + 1];
    if (next === '[') {
      // CSI: parameters 0x30–0x3f, intermediates 0x20–0x2f, one final byte 0x40–0x7e.
      let j = i + 2;
      while (j < line.length && line.charCodeAt(j) >= 0x30 && line.charCodeAt(j) <= 0x3f) j++;
      const params = line.slice(i + 2, j);
      while (j < line.length && line.charCodeAt(j) >= 0x20 && line.charCodeAt(j) <= 0x2f) j++;
      if (j >= line.length) break; // truncated sequence: drop it
      const final = line[j];
      if (final === 'm') {
        flush();
        style = applySgr(style, params);
      }
      i = j + 1;
    } else if (next === ']') {
      // OSC runs to BEL or ST (ESC \).
      let j = i + 2;
      while (j < line.length && line.charCodeAt(j) !== 0x07 && !(line.charCodeAt(j) === ESC && line[j + 1] === '\\')) j++;
      i = j >= line.length ? j : line.charCodeAt(j) === 0x07 ? j + 1 : j + 2;
    } else {
      // Two-byte escapes (ESC c, ESC 7, ...).
      i += next === undefined ? 1 : 2;
    }
  }
  flush();
  return spans;
}

/** The text with every escape sequence removed (what search and filters look at). */
export function stripAnsi(line: string): string {
  if (line.indexOf('\x1b') < 0) return line;
  return parseAnsi(line).map((s) => s.text).join('');
}

function applySgr(current: MutableStyle, params: string): MutableStyle {
  const codes = params === '' ? [0] : params.split(';').map((p) => (p === '' ? 0 : Number.parseInt(p, 10)));
  let s: MutableStyle = { ...current };
  for (let k = 0; k < codes.length; k++) {
    const code = codes[k] ?? 0;
    if (code === 0) s = {};
    else if (code === 1) s.bold = true;
    else if (code === 2) s.dim = true;
    else if (code === 3) s.italic = true;
    else if (code === 4) s.underline = true;
    else if (code === 7) s.inverse = true;
    else if (code === 9) s.strike = true;
    else if (code === 22) {
      delete s.bold;
      delete s.dim;
    } else if (code === 23) delete s.italic;
    else if (code === 24) delete s.underline;
    else if (code === 27) delete s.inverse;
    else if (code === 29) delete s.strike;
    else if (code >= 30 && code <= 37) s.fg = code - 30;
    else if (code === 39) delete s.fg;
    else if (code >= 40 && code <= 47) s.bg = code - 40;
    else if (code === 49) delete s.bg;
    else if (code >= 90 && code <= 97) s.fg = code - 90 + 8;
    else if (code >= 100 && code <= 107) s.bg = code - 100 + 8;
    else if (code === 38 || code === 48) {
      const mode = codes[k + 1];
      let colour: number | string | undefined;
      if (mode === 5) {
        colour = clamp(codes[k + 2]);
        k += 2;
      } else if (mode === 2) {
        const [r, g, b] = [clamp(codes[k + 2]), clamp(codes[k + 3]), clamp(codes[k + 4])];
        colour = `#${hex(r)}${hex(g)}${hex(b)}`;
        k += 4;
      } else {
        k = codes.length; // malformed extended colour: ignore the rest
      }
      if (colour !== undefined) {
        if (code === 38) s.fg = colour;
        else s.bg = colour;
      }
    }
  }
  return s;
}

function clamp(n: number | undefined): number {
  return n === undefined || Number.isNaN(n) ? 0 : Math.max(0, Math.min(255, n));
}
function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
