import { consoleLogger } from '../extension/core/log';
import { JavaDebugSession } from './dap/session';
import { launchTargetFrom } from './dap/types';

// Stdio entry: VS Code (or a test's DebugClient) speaks DAP on stdin/stdout, so logs go to stderr.
const log = consoleLogger(undefined, 'devlane-debug');
const session = new JavaDebugSession(log, launchTargetFrom(process.env));
// A bug here must not silently kill the debug session's process without a word in the log.
process.on('unhandledRejection', (e) => log.error(`unhandled rejection in the debug adapter: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
process.on('SIGTERM', () => session.shutdown());
session.start(process.stdin, process.stdout);
