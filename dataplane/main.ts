import { consoleLogger, type LogLevel } from '../extension/core/log';
import { DataPlaneService } from './service';

/**
 * Entry of the data-plane process: `dataplane.js --socket PATH [--grace-ms N] [--log LEVEL]`.
 * It talks to its controller only through the socket; stdout/stderr go to a log file the
 * controller chose, so this process outlives an extension host without writing to a dead pipe.
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const socketPath = arg('socket');
if (!socketPath) {
  console.error('usage: dataplane --socket PATH [--grace-ms N] [--log LEVEL]');
  process.exit(2);
}
const log = consoleLogger((arg('log') as LogLevel | undefined) ?? 'info', `dataplane ${process.pid}`);
const service = new DataPlaneService({
  socketPath,
  graceMs: Number(arg('grace-ms') ?? 30_000),
  log,
  onExit: () => process.exit(0),
});
process.on('SIGTERM', () => void service.shutdown());
process.on('SIGINT', () => void service.shutdown());
// A bug in one connection must not take every tunnel down; it is logged and the process carries on.
process.on('uncaughtException', (e) => log.error(e));
service.listen().catch((e: unknown) => {
  log.error(`cannot listen on ${socketPath}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
