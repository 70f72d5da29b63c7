/**
 * The result of parsing a prefix of a byte stream: not enough bytes yet, a protocol error the peer
 * should be told about, or a value and how many bytes it took. Parsers never throw on bad input.
 */
export type ParseResult<T> =
  | { readonly kind: 'more' }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'ok'; readonly value: T; readonly consumed: number };

export const more = { kind: 'more' } as const;
export const parseError = (message: string): ParseResult<never> => ({ kind: 'error', message });

/** Where a proxied connection should go; `host` is a name (resolved on the far side) or an IP literal. */
export interface Target {
  readonly host: string;
  readonly port: number;
}

/** Formats a target the way both `host:port` and `[v6]:port` readers expect it. */
export function formatTarget(t: Target): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
