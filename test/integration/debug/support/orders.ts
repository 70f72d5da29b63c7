import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

/** The sample orders service's sources, the tests' source root for stack mapping. */
export const ordersRoot = path.resolve(__dirname, '../../../../cluster/samples/shop/orders/src/main/java');
export const ordersJava = path.join(ordersRoot, 'dev/devlane/shop/orders/OrdersApp.java');

/** The sample is another team's file: its lines are found by their text, not a marker. */
export function lineContaining(file: string, text: string): number {
  const i = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`"${text}" not in ${file}`);
  return i + 1;
}

/** GET on a local port (a port-forward to the app), each request on its own connection. */
export function httpGet(port: number, p: string, timeoutMs = 180_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent: false, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      // A request to a restarting app can hang in the forward: give up, so a poll can try again.
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error(`no answer to ${p} within ${timeoutMs} ms`));
      })
      .on('error', reject);
  });
}
