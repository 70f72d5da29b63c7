/**
 * How a tree node, a command argument or a webview names a Kubernetes object. Commands invoked
 * from the tree receive one of these; from the palette they receive nothing and ask.
 */
export type ResourceKind = 'Namespace' | 'Pod' | 'Deployment' | 'StatefulSet' | 'ReplicaSet' | 'Clone';

export interface ResourceRef {
  readonly kind: ResourceKind;
  readonly namespace: string;
  readonly name: string;
  /** The kubeconfig context it was seen in; absent means the current one. */
  readonly context?: string;
}

export function isResourceRef(v: unknown): v is ResourceRef {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.kind === 'string' && typeof r.namespace === 'string' && typeof r.name === 'string';
}

/** Tree nodes carry their ref in this property so commands get it whatever node class was clicked. */
export function refOf(arg: unknown): ResourceRef | undefined {
  if (isResourceRef(arg)) return arg;
  const inner = (arg as { ref?: unknown } | null)?.ref;
  return isResourceRef(inner) ? inner : undefined;
}
