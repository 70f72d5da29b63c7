import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ordersSource = path.resolve(__dirname, '../../../cluster/samples/shop/orders/src/main/java/dev/devlane/shop/orders/OrdersApp.java');
export const ordersMainClass = 'dev.devlane.shop.orders.OrdersApp';

/**
 * Compiles the sample orders service with a /version endpoint answering `marker`, into
 * `<dir>/classes` (an exploded app). A real build of a real change, for deploy tests.
 */
export function buildOrdersWithVersion(dir: string, marker: string): string {
  const src = path.join(dir, 'src', 'dev', 'devlane', 'shop', 'orders');
  fs.mkdirSync(src, { recursive: true });
  const original = fs.readFileSync(ordersSource, 'utf8');
  const anchor = 'server.createContext("/healthz"';
  if (!original.includes(anchor)) throw new Error(`the sample ${ordersSource} changed: no ${anchor}`);
  const patched = original.replace(anchor, `server.createContext("/version", ex -> reply(ex, 200, ${JSON.stringify(marker)}));\n        ${anchor}`);
  fs.writeFileSync(path.join(src, 'OrdersApp.java'), patched);
  // Compiled over the previous build, as an IDE or `mvn compile` does: other files stay.
  const out = path.join(dir, 'classes');
  fs.mkdirSync(out, { recursive: true });
  execFileSync('javac', ['--release', '17', '-d', out, path.join(src, 'OrdersApp.java')], { stdio: 'pipe' });
  return out;
}

/** The sample's command with the deployed classes first on the class path, the image's after. */
export function ordersCommandWithDeployedClasses(deployed: string): string[] {
  return ['java', '-Xmx64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${deployed}:/app/classes`, ordersMainClass];
}
