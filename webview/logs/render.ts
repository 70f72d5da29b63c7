/** One log line as DOM: ANSI colours as styled spans, search matches as <mark>, a cut marker. */
import { parseAnsi, type AnsiStyle } from '../../extension/core/observe/ansi';
import type { MatchRange } from '../../extension/core/observe/logModel';
import type { LogLineDto } from '../protocol/messages';

const named = ['Black', 'Red', 'Green', 'Yellow', 'Blue', 'Magenta', 'Cyan', 'White', 'BrightBlack', 'BrightRed', 'BrightGreen', 'BrightYellow', 'BrightBlue', 'BrightMagenta', 'BrightCyan', 'BrightWhite'];

/** Palette index or #rgb to a CSS colour; the 16 base colours follow the user's terminal theme. */
export function cssColour(c: number | string): string {
  if (typeof c === 'string') return c;
  if (c < 16) return `var(--vscode-terminal-ansi${named[c]})`;
  if (c < 232) {
    const i = c - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
  const g = 8 + (c - 232) * 10;
  return `rgb(${g}, ${g}, ${g})`;
}

function styled(text: string, s: AnsiStyle): Node {
  if (Object.keys(s).length === 0) return document.createTextNode(text);
  const span = document.createElement('span');
  span.textContent = text;
  let fg = s.fg;
  let bg = s.bg;
  if (s.inverse) [fg, bg] = [bg ?? 'var(--vscode-editor-background)', fg ?? 'var(--vscode-editor-foreground)'];
  if (fg !== undefined) span.style.color = cssColour(fg);
  if (bg !== undefined) span.style.backgroundColor = cssColour(bg);
  if (s.bold) span.style.fontWeight = 'bold';
  if (s.dim) span.style.opacity = '0.7';
  if (s.italic) span.style.fontStyle = 'italic';
  if (s.underline || s.strike) span.style.textDecoration = [s.underline ? 'underline' : '', s.strike ? 'line-through' : ''].join(' ').trim();
  return span;
}

/** Appends the line's text to `into`, splitting styled spans where match ranges begin and end. */
export function renderText(into: HTMLElement, text: string, ranges: readonly MatchRange[]): void {
  const spans = parseAnsi(text);
  let offset = 0;
  let r = 0;
  for (const span of spans) {
    let pos = 0;
    while (pos < span.text.length) {
      const abs = offset + pos;
      while (r < ranges.length && (ranges[r]?.[1] ?? 0) <= abs) r++;
      const range = ranges[r];
      if (range && range[0] <= abs) {
        const end = Math.min(span.text.length, range[1] - offset);
        const mark = document.createElement('mark');
        mark.append(styled(span.text.slice(pos, end), span.style));
        into.append(mark);
        pos = end;
      } else {
        const end = Math.min(span.text.length, range ? range[0] - offset : span.text.length);
        into.append(styled(span.text.slice(pos, end), span.style));
        pos = end;
      }
    }
    offset += span.text.length;
  }
}

export function renderLine(line: LogLineDto, ranges: readonly MatchRange[], showTimestamp: boolean): HTMLElement {
  const row = document.createElement('div');
  row.className = 'line';
  if (showTimestamp && line.ts) {
    const ts = document.createElement('span');
    ts.className = 'ts';
    ts.textContent = line.ts;
    row.append(ts);
  }
  const body = document.createElement('span');
  body.className = 'text';
  renderText(body, line.text, ranges);
  row.append(body);
  if (line.cut > 0) {
    const cut = document.createElement('span');
    cut.className = 'cut';
    cut.textContent = ` … [${line.cut.toLocaleString()} more characters cut]`;
    row.append(cut);
  }
  return row;
}
