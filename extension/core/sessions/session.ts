import type { Event } from '../events';

/**
 * Anything long-lived that Devlane starts on the user's behalf: a tunnel, a port-forward, a clone,
 * a capture, a log follow, a debug attachment. Each is owned by the registry, shown in the UI, and
 * ended when the user stops it or the extension deactivates. Child processes and sockets a session
 * opens are tied to its `dispose()`.
 */
export type SessionKind = 'tunnel' | 'forward' | 'clone' | 'capture' | 'logs' | 'debug' | 'registration' | 'lane';

export type SessionState = 'starting' | 'running' | 'degraded' | 'stopping' | 'stopped' | 'failed';

export interface SessionStatus {
  readonly state: SessionState;
  /** Short human text for trees and tooltips ("3 connections", "waiting for sshd"). */
  readonly detail?: string;
}

export interface Session {
  /** Stable identity; never the display label. */
  readonly id: string;
  readonly kind: SessionKind;
  readonly label: string;
  readonly status: SessionStatus;
  readonly onDidChangeStatus: Event<SessionStatus>;
  /**
   * The id of the session this one travels through (a registration through its tunnel). The
   * registry ends such sessions before their carrier, so their goodbye (a deregistration) still
   * has a way out.
   */
  readonly carriedBy?: string;
  /** Ends the session and everything it owns. Idempotent. */
  dispose(): Promise<void>;
}
