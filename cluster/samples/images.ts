import * as path from 'node:path';
import type { ClusterPaths } from '../paths';
import type { ImageResolver, KnownImage } from '../pod-runner/spec';

/** Sample apps: source folder under cluster/samples/shop and the image repository pods name. */
export const sampleApps = [
  { app: 'orders', image: 'devlane.local/shop-orders', mainClass: 'dev.devlane.shop.orders.OrdersApp' },
  { app: 'inventory', image: 'devlane.local/shop-inventory', mainClass: 'dev.devlane.shop.inventory.InventoryApp' },
] as const;

/** Where an app's compiled "image" lives on the host (shown in its pods at /app). */
export function imageDir(paths: ClusterPaths, app: string): string {
  return path.join(paths.imagesDir, `shop-${app}`);
}

/**
 * Images are never pulled here. The sample images are folders compiled at set-up; well-known
 * stock images get the entrypoint their real image has, run with the machine's binaries.
 */
export function sampleImages(paths: ClusterPaths): ImageResolver {
  const known = new Map<string, KnownImage>();
  for (const a of sampleApps) {
    known.set(a.image, { content: { source: imageDir(paths, a.app), target: '/app' }, entrypoint: ['java', '-cp', '/app/classes', a.mainClass], workingDir: '/app' });
  }
  const stock: Record<string, KnownImage> = {
    busybox: { cmd: ['sh'] },
    alpine: { cmd: ['/bin/sh'] },
    debian: { cmd: ['bash'] },
    ubuntu: { cmd: ['bash'] },
    node: { cmd: ['node'] },
    'eclipse-temurin': { cmd: ['jshell'] },
    openjdk: { cmd: ['jshell'] },
  };
  return (repository) => {
    const hit = known.get(repository);
    if (hit) return hit;
    const last = repository.slice(repository.lastIndexOf('/') + 1);
    return stock[last];
  };
}
