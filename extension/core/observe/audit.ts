/**
 * The audit trail of shells opened in pods: who opened which shell where, and each command line
 * they entered, one JSON object per line in `.devlane/audit.log` of the workspace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface AuditTarget {
  readonly user: string;
  /** The kubeconfig context, the cluster's server and the kube user the shell went through. */
  readonly context: string;
  readonly server?: string;
  readonly kubeUser?: string;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
}

export type AuditRecord = AuditTarget & { readonly time: string } & (
    | { readonly event: 'open'; readonly clone: boolean; readonly confirmed: boolean; readonly shell: string }
    | { readonly event: 'command'; readonly command: string; readonly approximate: boolean }
    | { readonly event: 'close'; readonly exitCode?: number }
  );

type RecordBody = { event: 'open'; clone: boolean; confirmed: boolean; shell: string } | { event: 'command'; command: string; approximate: boolean } | { event: 'close'; exitCode?: number };

export function auditLogPath(workspaceFolder: string): string {
  return path.join(workspaceFolder, '.devlane', 'audit.log');
}

/**
 * Appends records in the order they are written, even when callers do not await: writes are
 * chained so a command line can never land before the "open" record of its own shell.
 */
export class AuditLog {
  private chain: Promise<void> = Promise.resolve();
  private dirReady = false;

  constructor(readonly file: string, private readonly now: () => Date = () => new Date()) {}

  write(target: AuditTarget, body: RecordBody): Promise<void> {
    const record = { time: this.now().toISOString(), ...target, ...body } as AuditRecord;
    const line = `${JSON.stringify(record)}\n`;
    this.chain = this.chain.then(async () => {
      if (!this.dirReady) {
        await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
        this.dirReady = true;
      }
      await fs.promises.appendFile(this.file, line, { mode: 0o600 });
    });
    return this.chain;
  }

  /** Resolves when everything written so far is on disk. */
  flush(): Promise<void> {
    return this.chain;
  }
}

export function readAuditLog(file: string): AuditRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
}

/**
 * Recovers the command lines a user typed from the raw keystrokes sent to a pseudoterminal.
 *
 * It follows the editing a shell does without cursor movement: printable text, Backspace/DEL,
 * Ctrl-U (kill line), Ctrl-W (kill word), Ctrl-C (abandon line), Enter, and bracketed or plain paste
 * (each pasted line is a command). What it cannot know, it marks as `approximate` instead of
 * guessing: arrow keys and other cursor or history movement, Tab completion and Ctrl-R search change
 * the line inside the shell, so the text recorded for such a line may differ from what ran. Input
 * typed into a full-screen program (vi, less) or into a command reading stdin is recorded as if it
 * were commands; the audit trail errs on recording too much.
 */
export class CommandLineExtractor {
  private line = '';
  private approximate = false;
  private escape: 'none' | 'esc' | 'csi' | 'ss3' | 'osc' = 'none';
  private csiParams = '';

  /** Feeds typed data; returns the command lines completed by it. */
  push(data: string): { command: string; approximate: boolean }[] {
    const out: { command: string; approximate: boolean }[] = [];
    for (const ch of data) {
      const c = ch.codePointAt(0) as number;
      if (this.escape !== 'none') {
        this.consumeEscape(ch, c);
        continue;
      }
      if (c === 0x1b) {
        this.escape = 'esc';
      } else if (c === 0x0d || c === 0x0a) {
        // "\r\n" from a paste must not emit an empty second command.
        if (this.line.trim() !== '') out.push({ command: this.line.trim(), approximate: this.approximate });
        else if (this.approximate) out.push({ command: '', approximate: true });
        this.reset();
      } else if (c === 0x7f || c === 0x08) {
        this.line = [...this.line].slice(0, -1).join('');
      } else if (c === 0x15) {
        this.line = '';
      } else if (c === 0x17) {
        this.line = this.line.replace(/\S+\s*$/u, '');
      } else if (c === 0x03) {
        this.reset();
      } else if (c === 0x09 || c === 0x12 || c === 0x10 || c === 0x0e || c === 0x01 || c === 0x05 || c === 0x02 || c === 0x06 || c === 0x0b || c === 0x19) {
        // Tab completion, history search/recall, cursor moves, kill/yank: the shell edits the line.
        this.approximate = true;
      } else if (c >= 0x20) {
        this.line += ch;
      }
    }
    return out.filter((o) => o.command !== '' || o.approximate);
  }

  private consumeEscape(ch: string, c: number): void {
    if (this.escape === 'esc') {
      if (ch === '[') {
        this.escape = 'csi';
        this.csiParams = '';
      } else if (ch === 'O') this.escape = 'ss3';
      else if (ch === ']') this.escape = 'osc';
      else {
        this.escape = 'none';
        this.approximate = true; // Alt-<key>: readline word motions and edits
      }
      return;
    }
    if (this.escape === 'csi') {
      if (c >= 0x40 && c <= 0x7e) {
        this.escape = 'none';
        // Bracketed paste markers (ESC[200~ / ESC[201~) frame text that is entered as typed.
        if (!(ch === '~' && (this.csiParams === '200' || this.csiParams === '201'))) this.approximate = true;
      } else this.csiParams += ch;
      return;
    }
    if (this.escape === 'ss3') {
      this.escape = 'none';
      this.approximate = true;
      return;
    }
    if (c === 0x07) this.escape = 'none';
  }

  private reset(): void {
    this.line = '';
    this.approximate = false;
  }
}
