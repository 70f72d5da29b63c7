import * as net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_CHUNK } from '../dataplane/agent/frames';
import { Mux } from '../dataplane/agent/mux';

/**
 * The in-cluster end of a Devlane tunnel, run by a stock Node image from a ConfigMap: accepts the
 * data plane's WebSocket (reached through port-forward), dials cluster addresses for it (cluster DNS
 * resolves the names), and exits when the data plane's heartbeats stop for DEVLANE_TTL_SECONDS, so
 * a laptop that vanished leaves only a completed pod behind.
 */
const port = Number(process.env.PORT ?? 7070);
const ttlMs = Number(process.env.DEVLANE_TTL_SECONDS ?? 120) * 1000;
// Until the data plane first connects (pod start, image pull, port-forward set-up) the wait is longer.
const firstContactMs = Math.max(ttlMs, 120_000);
const started = Date.now();
let lastSeen: number | undefined;

function serve(ws: WebSocket): void {
  const send = (frame: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(frame);
  };
  const mux = new Mux(send, (id, target) => {
    const sock = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    sock.once('connect', () => {
      const ch = mux.accept(id);
      sock.pipe(ch);
      ch.pipe(sock);
      ch.on('error', () => sock.destroy());
      ch.on('close', () => sock.destroy());
      sock.on('close', () => ch.destroy());
    });
    sock.on('error', (e) => {
      if (sock.connecting) mux.refuse(id, `${target.host}:${target.port}: ${e.message}`);
    });
  });
  ws.on('message', (data: Buffer) => {
    lastSeen = Date.now();
    if (!mux.receive(data)) ws.terminate();
  });
  ws.on('ping', () => (lastSeen = Date.now()));
  ws.on('close', () => mux.close());
  ws.on('error', () => ws.terminate());
}

const wss = new WebSocketServer({ port, host: '0.0.0.0', maxPayload: MAX_CHUNK + 64, perMessageDeflate: false });
wss.on('connection', (ws) => {
  lastSeen = Date.now();
  serve(ws);
});
wss.on('error', (e) => {
  console.error(`devlane agent: ${e.message}`);
  process.exit(1);
});
setInterval(() => {
  const silent = lastSeen === undefined ? Date.now() - started > firstContactMs : Date.now() - lastSeen > ttlMs;
  if (silent) {
    console.log(`devlane agent: no heartbeat for ${(lastSeen === undefined ? firstContactMs : ttlMs) / 1000} s; exiting`);
    process.exit(0);
  }
}, 1_000);
console.log(`devlane agent listening on ${port}, TTL ${ttlMs / 1000} s`);
