import type { ChildProcess } from 'node:child_process';

/** Drives jdb over stdin/stdout. Its output is for humans: the parsing below is deliberately loose. */
export class Jdb {
  private buf = '';
  private waiters = new Set<() => void>();
  constructor(private readonly proc: ChildProcess) {
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => this.onData(d));
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => this.onData(d));
  }
  private onData(d: string) {
    this.buf += d;
    for (const w of [...this.waiters]) w();
  }
  private until(done: (buf: string) => boolean, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done(this.buf)) {
          this.waiters.delete(check);
          clearTimeout(t);
          const b = this.buf;
          this.buf = '';
          resolve(b);
        }
      };
      const t = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`jdb: timed out waiting for ${what}; output so far: ${this.buf.slice(-800)}`));
      }, 60_000);
      this.waiters.add(check);
      check();
    });
  }
  /** A thread prompt such as "main[1] " ends the output of a command run while stopped. */
  private static prompt = /\S+\[\d+\] $/;
  /** Attached to a running VM: jdb prints its banner and a bare "> " prompt. */
  attached(): Promise<string> {
    return this.until((b) => b.includes('Initializing jdb') && /> $/.test(b), 'jdb to attach');
  }
  /** A breakpoint hit the VM reports on its own (the VM was already running). */
  waitForHit(): Promise<string> {
    return this.until((b) => /Breakpoint hit:/.test(b) && Jdb.prompt.test(b), 'a breakpoint hit');
  }
  start(): Promise<string> {
    return this.until((b) => b.includes('VM Started') && Jdb.prompt.test(b), 'the VM start');
  }
  run(cmd: string): Promise<string> {
    this.buf = '';
    this.proc.stdin?.write(cmd + '\n');
    return this.until((b) => Jdb.prompt.test(b), `the prompt after "${cmd}"`);
  }
  /** "stop at" answers with "Deferring…" or "Set breakpoint…" and a prompt ("> " or a thread's). */
  set(cmd: string): Promise<string> {
    this.buf = '';
    this.proc.stdin?.write(cmd + '\n');
    return this.until((b) => /(Deferring|Set) breakpoint/.test(b) && /(\S+\[\d+\]|>) $/.test(b), `"${cmd}"`);
  }
  /** Steps (`next`, `step`, `step up`); resolves when jdb reports the step completed. */
  async step(cmd: string): Promise<string> {
    this.buf = '';
    this.proc.stdin?.write(cmd + '\n');
    return this.until((b) => /Step completed:/.test(b) && Jdb.prompt.test(b), `"${cmd}" to complete`);
  }
  /** Resumes; resolves with 'stopped' at the next breakpoint hit or 'exited'. */
  async cont(): Promise<'stopped' | 'exited'> {
    this.buf = '';
    this.proc.stdin?.write('cont\n');
    const out = await this.until((b) => b.includes('The application exited') || (/Breakpoint hit:/.test(b) && Jdb.prompt.test(b)), 'a breakpoint hit or the exit');
    return out.includes('Breakpoint hit:') ? 'stopped' : 'exited';
  }
}

