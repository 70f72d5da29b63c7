/**
 * One levelled log. The VS Code layer backs it with the "Devlane" LogOutputChannel; plain-Node code
 * and tests get a console or silent logger. Secrets must never reach a logger: redact before.
 */
export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'off';
const order: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, off: 5 };

export function consoleLogger(level: LogLevel = (process.env.DEVLANE_LOG as LogLevel | undefined) ?? 'warn', prefix = 'devlane'): Logger {
  const at = (l: Exclude<LogLevel, 'off'>) => (message: string | Error, ...args: unknown[]) => {
    if (order[l] < order[level]) return;
    console.error(`[${prefix}] ${l}: ${message instanceof Error ? message.stack ?? message.message : message}`, ...args);
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
