import type { V1LabelSelector } from '@kubernetes/client-node';

export type Labels = Readonly<Record<string, string>>;

/** A selector that could claim the clone: a Service's (map form) or a controller's. */
export interface OwningSelector {
  /** `Service/orders`, `ReplicaSet/orders-7c9f`: for messages and tests. */
  readonly source: string;
  /** Services route traffic; controllers adopt orphans. Only Services may be kept on request. */
  readonly kind: 'service' | 'controller';
  readonly selector: V1LabelSelector;
}

/**
 * Whether a label selector matches. An empty selector matches everything (the controller
 * semantics); callers must not pass a Service without a selector, which selects nothing.
 */
export function selectorMatches(selector: V1LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        // An operator we do not know: assume it matches, so the clone is detached to be safe.
        break;
    }
  }
  return true;
}

export interface Detached {
  readonly labels: Record<string, string>;
  /** Labels taken off, to be kept under an annotation. */
  readonly moved: Record<string, string>;
  /** Selectors that still match after detaching (only possible with negative expressions). */
  readonly stillMatching: readonly string[];
}

/**
 * Takes off the labels through which Services would send traffic to the clone or controllers
 * would adopt it (a ReplicaSet adopting a clone deletes a replica to keep its count). Only the
 * keys the matching selectors use are removed; the rest stay for policies and dashboards.
 */
export function detachFromSelectors(labels: Labels, selectors: readonly OwningSelector[], keepServices: boolean): Detached {
  const out: Record<string, string> = { ...labels };
  const moved: Record<string, string> = {};
  const relevant = selectors.filter((s) => !(keepServices && s.kind === 'service'));
  for (const s of relevant) {
    if (!selectorMatches(s.selector, labels)) continue;
    const keys = [...Object.keys(s.selector.matchLabels ?? {}), ...(s.selector.matchExpressions ?? []).filter((e) => e.operator === 'In' || e.operator === 'Exists').map((e) => e.key)];
    for (const k of keys) {
      if (k in out) {
        moved[k] = out[k]!;
        delete out[k];
      }
    }
  }
  const stillMatching = relevant.filter((s) => selectorMatches(s.selector, out)).map((s) => s.source);
  return { labels: out, moved, stillMatching };
}

/** A Service's map selector as a label selector; undefined when it selects nothing. */
export function serviceSelector(selector: Readonly<Record<string, string>> | undefined): V1LabelSelector | undefined {
  if (!selector || Object.keys(selector).length === 0) return undefined;
  return { matchLabels: { ...selector } };
}
