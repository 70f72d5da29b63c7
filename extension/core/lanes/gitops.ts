/**
 * Whether a Kubernetes object is kept in step with a Git repository by Argo CD or Flux, read from
 * the labels and annotations those tools put on what they apply. Such an object is put back as
 * Git has it: a lane route Devlane adds to it may vanish at the next sync, and a selector Devlane
 * changes is reverted.
 */
export function gitOpsManager(meta: { readonly labels?: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>> } | undefined): string | undefined {
  const keys = [...Object.keys(meta?.labels ?? {}), ...Object.keys(meta?.annotations ?? {})];
  if (keys.some((k) => k.startsWith('argocd.argoproj.io/'))) return 'Argo CD';
  if (keys.some((k) => k.startsWith('kustomize.toolkit.fluxcd.io/') || k.startsWith('helm.toolkit.fluxcd.io/'))) return 'Flux';
  return undefined;
}
