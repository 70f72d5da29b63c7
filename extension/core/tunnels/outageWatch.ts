import type { ErrorReason } from '../errors';
import type { Disposable } from '../events';
import type { TunnelController, TunnelUiState } from './tunnelController';

/**
 * What is worth interrupting the user for while a tunnel they turned on is not working. The status
 * bar shows every state change; these are the ones a developer busy in the editor would otherwise
 * miss: it ended for good, it has been down for a while, it is back after such an alert.
 */
export type TunnelAlert =
  /** It was up and will not come back by itself (credentials or host key refused, the tunnel service gone). */
  | { readonly kind: 'failed'; readonly reason: ErrorReason; readonly message: string }
  /** Reconnecting (or unanswered) for longer than the alert delay; `detail` says what the last attempt met. */
  | { readonly kind: 'down'; readonly forMs: number; readonly detail?: string }
  /** Working again after a 'down' alert. */
  | { readonly kind: 'back'; readonly afterMs: number };

export interface TunnelSnapshot {
  readonly state: TunnelUiState;
  readonly detail?: string;
  readonly error?: { readonly reason: ErrorReason; readonly message: string };
}

/**
 * Turns the tunnel's state changes into alerts. Failures of the first connect are not its business
 * (the Connect command reports those); only a tunnel that has been on is watched. A short outage
 * (an sshd restart, a Wi-Fi hand-over) stays in the status bar: `down` comes only once the tunnel
 * has been away for `alertAfterMs`, and `back` only after a `down`.
 */
export class OutageWatch implements Disposable {
  private wasOn = false;
  private downSince: number | undefined;
  private alerted = false;
  private timer: NodeJS.Timeout | undefined;
  private last: TunnelSnapshot = { state: 'off' };

  /** `alertAfterMs` is read at the start of each outage (a setting may change); 0 or less: no down/back alerts. */
  constructor(
    private readonly alertAfterMs: () => number,
    private readonly alert: (a: TunnelAlert) => void,
    private readonly now: () => number = Date.now,
  ) {}

  update(s: TunnelSnapshot): void {
    this.last = s;
    switch (s.state) {
      case 'on': {
        if (this.alerted && this.downSince !== undefined) this.alert({ kind: 'back', afterMs: this.now() - this.downSince });
        this.wasOn = true;
        this.clearOutage();
        return;
      }
      case 'degraded':
      case 'connecting': {
        // 'connecting' after having been on: the data plane is re-attaching or reconnecting.
        if (!this.wasOn || this.downSince !== undefined) return;
        this.downSince = this.now();
        const after = this.alertAfterMs();
        if (after <= 0) return;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (this.downSince === undefined) return;
          this.alerted = true;
          const detail = this.last.detail;
          // Timers run on the event loop's cached clock and may fire a millisecond before `now` says
          // the delay has passed; it has passed all the same, so the outage began at least that long
          // ago (which `back` then counts from too).
          const at = this.now();
          this.downSince = Math.min(this.downSince, at - after);
          this.alert({ kind: 'down', forMs: at - this.downSince, ...(detail ? { detail } : {}) });
        }, after);
        this.timer.unref?.();
        return;
      }
      case 'error': {
        if (this.wasOn) this.alert({ kind: 'failed', reason: s.error?.reason ?? 'tunnel-down', message: s.error?.message ?? 'The tunnel stopped.' });
        this.reset();
        return;
      }
      case 'off':
        // Disconnected on purpose: nothing to say, and the next connect starts afresh.
        this.reset();
        return;
    }
  }

  dispose(): void {
    this.reset();
  }

  private clearOutage(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.downSince = undefined;
    this.alerted = false;
  }

  private reset(): void {
    this.clearOutage();
    this.wasOn = false;
  }
}

/** What the watch needs to know of a controller's tunnel, right now. */
export function tunnelSnapshot(controller: TunnelController): TunnelSnapshot {
  const s = controller.session;
  const error = s?.tunnel.error ?? controller.lastError;
  return {
    state: controller.state,
    ...(s?.tunnel.detail ? { detail: s.tunnel.detail } : {}),
    ...(error ? { error: { reason: error.reason, message: error.message } } : {}),
  };
}
