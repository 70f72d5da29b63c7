import { createHash } from 'node:crypto';

/**
 * Who owns a clone. The label is what the reaper and the list select on, so it must be stable
 * across restarts of VS Code and distinct between developers sharing a cluster user (CI tokens,
 * shared kubeconfigs): it combines the kubeconfig user with the OS account and machine.
 */
export interface OwnerIdentity {
  /** Label-safe, ≤ 63 characters, stable for the same inputs. */
  readonly label: string;
  /** For people: shown in the tree and stored as an annotation. */
  readonly display: string;
}

export interface OwnerInputs {
  readonly kubeUser: string;
  readonly osUser: string;
  readonly host: string;
}

export function ownerIdentity(inputs: OwnerInputs): OwnerIdentity {
  const display = `${inputs.kubeUser || 'unknown'} (${inputs.osUser || 'unknown'}@${inputs.host || 'unknown'})`;
  // The hash keeps two identities apart even when sanitizing or truncating makes their readable
  // parts collide (e.g. "a.b" and "a_b", or long OIDC subjects sharing a prefix).
  const hash = createHash('sha256').update(`${inputs.kubeUser}\u0000${inputs.osUser}\u0000${inputs.host}`).digest('hex').slice(0, 10);
  const readable = sanitizeLabelValue(`${inputs.osUser}-${inputs.host.split('.')[0] ?? ''}`, 63 - hash.length - 1);
  return { label: readable ? `${readable}-${hash}` : hash, display };
}

/**
 * Makes any text a valid label value: [A-Za-z0-9] at both ends, [-_.A-Za-z0-9] inside, at most
 * `max` characters. Returns '' when nothing usable is left.
 */
export function sanitizeLabelValue(text: string, max = 63): string {
  let s = '';
  for (const ch of text) s += /[A-Za-z0-9._-]/.test(ch) ? ch : '-';
  s = s.slice(0, max);
  return trimNonAlnum(s);
}

/**
 * Makes text a DNS-1123 label (pod names): lower-case alphanumerics and '-', starting and ending
 * alphanumeric, at most `max` characters.
 */
export function sanitizeDnsLabel(text: string, max = 63): string {
  let s = '';
  for (const ch of text.toLowerCase()) s += /[a-z0-9-]/.test(ch) ? ch : '-';
  s = s.replace(/-+/g, '-').slice(0, max);
  return trimNonAlnum(s);
}

function trimNonAlnum(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && !/[A-Za-z0-9]/.test(s[start]!)) start++;
  while (end > start && !/[A-Za-z0-9]/.test(s[end - 1]!)) end--;
  return s.slice(start, end);
}

/** A clone's pod name: `<base>-<who>-<suffix>`, a valid DNS label that keeps the suffix whole. */
export function cloneName(base: string, ownerLabel: string, suffix: string): string {
  const who = sanitizeDnsLabel(ownerLabel.split('-')[0] ?? '', 12) || 'dev';
  const tail = `-${who}-${sanitizeDnsLabel(suffix, 10) || 'x'}`;
  const head = sanitizeDnsLabel(base, 63 - tail.length) || 'clone';
  return `${head}${tail}`;
}
