import * as net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_CHUNK } from '../dataplane/agent/frames';
import { Mux, type MuxChannel } from '../dataplane/agent/mux';

/**
 * The in-cluster end of a Devlane tunnel, run by a stock Node image from a ConfigMap (as a Job):
 * accepts the data plane's WebSocket (reached through port-forward), dials cluster addresses for it
 * (cluster DNS resolves the names), listens in the pod for inbound traffic it carries back to the
 * laptop, and exits when the data plane's heartbeats stop for DEVLANE_TTL_SECONDS. The Job's
 * ttlSecondsAfterFinished then deletes the Job, and garbage collection its pod, ConfigMap and
 * Services: pods here cannot (and need not) call the API server.
 */
const port = Number(process.env.PORT ?? 7070);
const ttlMs = Number(process.env.DEVLANE_TTL_SECONDS ?? 120) * 1000;
// Until the data plane first connects (pod start, image pull, port-forward set-up) the wait is longer.
const firstContactMs = Math.max(ttlMs, 120_000);
const started = Date.now();
let lastSeen: number | undefined;
// The data plane keeps one connection; a newer one (its reconnect) replaces an older one that may
// not have noticed yet, so the newer one can take over the listeners' ports.
let active: { ws: WebSocket; end(): void } | undefined;

function pipe(sock: net.Socket, ch: MuxChannel): void {
  sock.pipe(ch);
  ch.pipe(sock);
  ch.on('error', () => sock.destroy());
  ch.on('close', () => sock.destroy());
  sock.on('close', () => ch.destroy());
}

function serve(ws: WebSocket): () => void {
  const send = (frame: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(frame);
  };
  const listeners = new Map<number, net.Server>();
  const mux: Mux = new Mux(
    send,
    {
      onOpen: (id, target) => {
        const sock = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
        sock.once('connect', () => pipe(sock, mux.accept(id)));
        sock.on('error', (e) => {
          if (sock.connecting) mux.refuse(id, `${target.host}:${target.port}: ${e.message}`);
        });
      },
      onListen: (listener, at) => {
        const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
          sock.on('error', () => sock.destroy());
          // Nothing is read until the laptop's end is connected: the bytes wait in the kernel.
          mux.inbound(listener, `${sock.remoteAddress ?? ''}:${sock.remotePort ?? ''}`).then(
            (ch) => (sock.destroyed ? ch.destroy() : pipe(sock, ch)),
            () => sock.destroy(),
          );
        });
        server.once('error', (e) => {
          listeners.delete(listener);
          server.close();
          mux.unlisten(listener, `cannot listen on ${at.host}:${at.port} in the agent pod: ${e.message}`);
        });
        server.listen(at.port, at.host, () => {
          listeners.set(listener, server);
          mux.listening(listener, (server.address() as net.AddressInfo).port);
        });
      },
      onUnlisten: (listener) => {
        listeners.get(listener)?.close();
        listeners.delete(listener);
      },
    },
    'agent',
  );
  ws.on('message', (data: Buffer) => {
    lastSeen = Date.now();
    if (!mux.receive(data)) ws.terminate();
  });
  ws.on('ping', () => (lastSeen = Date.now()));
  // Listeners belong to the connection that asked for them: the data plane asks again when it reconnects.
  const end = () => {
    for (const s of listeners.values()) s.close();
    listeners.clear();
    mux.close();
  };
  ws.on('close', () => {
    end();
    if (active?.ws === ws) active = undefined;
  });
  ws.on('error', () => ws.terminate());
  return end;
}

const wss = new WebSocketServer({ port, host: '0.0.0.0', maxPayload: MAX_CHUNK + 64, perMessageDeflate: false });
wss.on('connection', (ws) => {
  lastSeen = Date.now();
  const previous = active;
  // Its listeners are closed now (the ports free at once), before the new connection asks for them.
  previous?.end();
  previous?.ws.terminate();
  active = { ws, end: serve(ws) };
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
