import type { V1Status } from '@kubernetes/client-node';

/**
 * The exit code in an exec's final V1Status: 0 for Success, the NonZeroExitCode cause a kubelet
 * sends, else undefined (kwok reports a failure as InternalError without a code: see
 * cluster/README.md — callers that need the code make the command print it).
 */
export function exitCodeOf(status: Pick<V1Status, 'status' | 'details'> | undefined): number | undefined {
  if (!status) return undefined;
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const n = cause?.message !== undefined ? Number(cause.message) : NaN;
  return Number.isInteger(n) ? n : undefined;
}
