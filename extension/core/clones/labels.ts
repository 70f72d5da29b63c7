/**
 * The labels and annotations that mark a clone. Labels are what the API can select on (list my
 * clones, never someone else's); annotations carry values that do not fit label syntax (times,
 * full names, JSON).
 */
export const cloneLabels = {
  /** "true" on every clone. */
  clone: 'devlane.io/clone',
  /** The source's name, sanitized to a label value. */
  cloneOf: 'devlane.io/clone-of',
  /** The owner's label-safe identity (see ownerIdentity). */
  owner: 'devlane.io/owner',
} as const;

export const cloneAnnotations = {
  /** `Kind/name` of the source, unabridged. */
  cloneOf: 'devlane.io/clone-of',
  /** The owner as a person reads it (`kube-user (os-user@host)`). */
  owner: 'devlane.io/owner',
  /** RFC 3339 instant, on the API server's clock, after which the reaper may delete the clone. */
  expiresAt: 'devlane.io/expires-at',
  /** Labels of the source moved out of the way of Service and controller selectors (JSON object). */
  originalLabels: 'devlane.io/original-labels',
  /** The options the clone was made with (JSON), so the tree and deploy can read them back. */
  options: 'devlane.io/options',
  /** The container the options apply to (the app container). */
  container: 'devlane.io/container',
} as const;

/** Where the clone's emptyDir is mounted: supervisor state, deployed artifacts, captures, dumps. */
export const devlaneDir = '/devlane';
export const devlaneVolume = 'devlane';

export const cloneSelector = `${cloneLabels.clone}=true`;
export function ownerSelector(ownerLabel: string): string {
  return `${cloneSelector},${cloneLabels.owner}=${ownerLabel}`;
}
