/** Kubernetes resource quantities ("500m", "1.5", "128Mi", "1G", "2e3") as plain numbers. */

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  const s = q.trim();
  let i = 0;
  while (i < s.length && '+-.0123456789'.includes(s[i] as string)) i++;
  const num = Number(s.slice(0, i));
  const suffix = s.slice(i);
  if (s.slice(0, i) === '' || Number.isNaN(num)) return undefined;
  if (suffix in binary) return num * (binary[suffix] as number);
  if (suffix in decimal) return num * (decimal[suffix] as number);
  if (suffix.startsWith('e') || suffix.startsWith('E')) {
    const exp = Number(suffix.slice(1));
    return Number.isNaN(exp) ? undefined : num * 10 ** exp;
  }
  return undefined;
}

export function formatCpu(cores: number): string {
  if (cores < 1) return `${Math.round(cores * 1000)}m`;
  return `${Number(cores.toFixed(3))}`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${Number((bytes / 2 ** 30).toFixed(2))}Gi`;
  if (bytes >= 2 ** 20) return `${Number((bytes / 2 ** 20).toFixed(1))}Mi`;
  if (bytes >= 2 ** 10) return `${Number((bytes / 2 ** 10).toFixed(1))}Ki`;
  return `${bytes}`;
}

export function formatResource(resource: string, amount: number): string {
  if (resource === 'cpu') return formatCpu(amount);
  if (resource === 'memory' || resource.startsWith('hugepages-') || resource === 'ephemeral-storage') return formatBytes(amount);
  return `${amount}`;
}
