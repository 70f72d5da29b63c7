/**
 * A lane's key: what a request carries to be routed to the lane's members, and how each place
 * that routes (Devlane's router, Istio, Gateway API) recognises it. Runs in the extension, the
 * router pod and the language server alike: plain TypeScript, no Node or VS Code API.
 *
 * By default the key is the W3C baggage member `devlane-lane=<lane>` (every tool our users know
 * converged on baggage: Signadot, Okteto, mirrord, ASM), matched so that other members may stand
 * beside it and the request may carry several baggage headers. A team can name another header
 * (`x-mse-tag`, `x-asm-prefer-tag`, `sd-routing-key`): its whole value is then the lane name.
 */

export interface LaneKey {
  /** Header name, lower case. */
  readonly header: string;
  /** For `baggage`: the member whose value names the lane. */
  readonly member?: string;
}

export const defaultLaneKey: LaneKey = { header: 'baggage', member: 'devlane-lane' };

/** RFC 1123 label: what a lane name must be (it becomes part of object names). */
export const laneNamePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isLaneName(name: string): boolean {
  return laneNamePattern.test(name);
}

/** The header and value a request sends to be in `lane`. */
export function laneHeader(key: LaneKey, lane: string): { name: string; value: string } {
  return { name: key.header, value: key.member ? `${key.member}=${lane}` : lane };
}

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

/** All values of a header (several headers of one name, as HTTP allows for list-valued ones). */
function values(headers: Headers, name: string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== name || v === undefined) continue;
    out.push(...(typeof v === 'string' ? [v] : v));
  }
  return out;
}

/** W3C baggage members as key → value (the first of a key wins), properties dropped, values percent-decoded. */
export function parseBaggage(headerValues: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const header of headerValues) {
    for (const member of header.split(',')) {
      const [pair = ''] = member.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const k = pair.slice(0, eq).trim();
      if (!k || out.has(k)) continue;
      let v = pair.slice(eq + 1).trim();
      try {
        v = decodeURIComponent(v);
      } catch {
        // Not percent-encoded as the spec asks: taken as it is.
      }
      out.set(k, v);
    }
  }
  return out;
}

/** The lane a request's headers put it in, or undefined (the baseline). */
export function laneOf(headers: Headers, key: LaneKey): string | undefined {
  const found = values(headers, key.header);
  if (found.length === 0) return undefined;
  const lane = key.member ? parseBaggage(found).get(key.member) : found[0]?.trim();
  return lane || undefined;
}

/**
 * An RE2 regular expression (Istio's and Gateway API's header match) that matches a header value
 * carrying the lane: for baggage, the member anywhere in the list with optional whitespace and
 * properties; for another header, exactly the lane name. Lane names are DNS labels, so they need no
 * escaping.
 */
export function laneHeaderRegex(key: LaneKey, lane: string): string {
  if (!key.member) return `^[ \\t]*${lane}[ \\t]*$`;
  const member = key.member.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `^(.*,)?[ \\t]*${member}[ \\t]*=[ \\t]*${lane}[ \\t]*(;[^,]*)?(,.*)?$`;
}
