/**
 * What a bench has to undo — test namespaces, clones, network namespaces, sshd, JVMs, temporary
 * folders — even when it is stopped with Ctrl-C or kill. `finally` blocks do not run when a signal
 * ends a Node process, and killed runs had left namespaces and netns behind.
 *
 * A bench registers each undo step as it creates the thing, and calls the returned function where
 * its own `finally` used to clean up; whatever is still registered when the bench ends, fails or is
 * signalled runs then, newest first.
 */
export interface Teardown {
  /**
   * Registers an undo step; the returned function runs it now (at most once) and forgets it. Once
   * the bench is being stopped, the step runs at once and this throws, so main creates nothing more.
   */
  defer(what: string, step: () => unknown): () => Promise<void>;
}

interface Step {
  readonly what: string;
  readonly run: () => unknown;
}

class Steps implements Teardown {
  /** Set by a signal: main is still running, but whatever it creates from now on is undone at once. */
  stopping = false;
  private readonly pending = new Set<Step>();
  /** Steps under way (a bench's own `finally` may be in one when a signal arrives). */
  private readonly running = new Set<Promise<void>>();

  defer(what: string, run: () => unknown): () => Promise<void> {
    const step: Step = { what, run };
    this.pending.add(step);
    if (this.stopping) {
      void this.runOne(step).catch((e: unknown) => this.report(step, e));
      throw new Error(`the bench is being stopped (${what} undone at once)`);
    }
    return () => this.runOne(step);
  }

  /** What is still to undo, newest first. */
  remaining(): string[] {
    return [...this.pending].reverse().map((s) => s.what);
  }

  /** Undoes everything registered, newest first, and waits for steps already under way. */
  async runAll(): Promise<void> {
    // Until nothing is left: a step main was in may end and let main register (and so undo) more.
    while (this.pending.size > 0 || this.running.size > 0) {
      for (const step of [...this.pending].reverse()) await this.runOne(step).catch((e: unknown) => this.report(step, e));
      await Promise.allSettled([...this.running]);
    }
  }

  private report(step: Step, e: unknown): void {
    console.error(`teardown: could not undo ${step.what}: ${e instanceof Error ? e.message : String(e)}`);
  }

  private async runOne(step: Step): Promise<void> {
    // Forgotten before it runs: a signal arriving mid-step must not start the same step twice.
    if (!this.pending.delete(step)) return;
    const run = (async () => {
      await step.run();
    })();
    this.running.add(run);
    try {
      await run;
    } finally {
      this.running.delete(run);
    }
  }
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs a bench's main, then its remaining undo steps, and exits (0, or 1 if main threw; lingering
 * watches or forwards must not keep a finished bench alive). On SIGINT or SIGTERM the steps run and
 * the process exits 130 or 143; a second signal while they run exits at once, naming what is left.
 */
export function runBench(main: (teardown: Teardown) => Promise<void>): void {
  const steps = new Steps();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (steps.stopping) {
        console.error(`${signal} again: exiting without undoing ${steps.remaining().join(', ') || 'anything'}`);
        process.exit(SIGNAL_EXIT[signal]);
      }
      steps.stopping = true;
      console.error(`${signal}: undoing ${steps.remaining().join(', ') || 'nothing'}`);
      void steps.runAll().finally(() => process.exit(SIGNAL_EXIT[signal]));
    });
  }
  main(steps).then(
    () => 0,
    (e: unknown) => {
      // After a signal, main fails because its things are being undone under it: not news.
      if (!steps.stopping) console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      return 1;
    },
  ).then(async (code) => {
    await steps.runAll();
    // A signal's teardown is already under way and exits itself.
    if (!steps.stopping) process.exit(code);
  });
}
