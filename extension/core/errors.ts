/**
 * Errors as data. Every failure a user can meet carries a `reason` code (never match on message
 * text), a message saying what happened and what to do, and optionally actions the UI offers as
 * buttons. Core code throws or returns these; the VS Code layer only renders them.
 */
export type ErrorReason =
  | 'kubeconfig-missing'
  | 'kubeconfig-empty'
  | 'kubeconfig-invalid'
  | 'context-missing'
  | 'cluster-unreachable'
  | 'cluster-unauthorized'
  | 'rbac-forbidden'
  | 'not-found'
  | 'already-exists'
  | 'unschedulable'
  | 'image-pull'
  | 'no-shell'
  | 'no-pods'
  | 'artifact-missing'
  | 'deploy-interrupted'
  | 'timeout'
  | 'cancelled'
  | 'port-in-use'
  | 'ssh-auth'
  | 'ssh-host-key-unknown'
  | 'ssh-host-key-changed'
  | 'ssh-unreachable'
  | 'tunnel-down'
  | 'jdwp-protocol'
  | 'jdwp-already-attached'
  | 'jdwp-handshake'
  | 'capture-unavailable'
  | 'capture-filter'
  | 'registry-rejected'
  | 'bastion-loopback-only'
  | 'lane-owned'
  | 'gitops-managed'
  | 'mesh-absent'
  | 'lane-opted-out'
  | 'invalid-input'
  | 'internal';

/** Something the UI can offer next to the message: a command with its arguments. */
export interface ErrorAction {
  readonly title: string;
  readonly command: string;
  readonly args?: readonly unknown[];
}

export class DevlaneError extends Error {
  override readonly name = 'DevlaneError';
  constructor(
    readonly reason: ErrorReason,
    message: string,
    readonly options: { readonly actions?: readonly ErrorAction[]; readonly detail?: string; readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
  get actions(): readonly ErrorAction[] {
    return this.options.actions ?? [];
  }
  get detail(): string | undefined {
    return this.options.detail;
  }
}

export function isDevlaneError(e: unknown): e is DevlaneError {
  return e instanceof DevlaneError;
}

/** Turns anything thrown into a DevlaneError, keeping the original as `cause`. */
export function toDevlaneError(e: unknown, fallback: ErrorReason = 'internal'): DevlaneError {
  if (isDevlaneError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new DevlaneError(fallback, message, { cause: e });
}

/** The result of an operation that fails in expected ways (Errorable in vscode-kubernetes-tools). */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DevlaneError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(error: DevlaneError): Result<T> => ({ ok: false, error });
