import type { CloneInfo } from './lifecycle';

/** "2h5m", "45m", "3d": how long, for trees and pickers. */
export function span(ms: number): string {
  const m = Math.round(Math.abs(ms) / 60_000);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${m % 60 ? `${m % 60}m` : ''}` : `${Math.floor(h / 24)}d`;
}

/**
 * The one-line description of a clone in the tree: state (with reason), node, age, expiry —
 * `now` on the server's clock, which is the one expiry is judged by.
 */
export function cloneDescription(c: CloneInfo, now: number): string {
  const state = c.reason && c.reason !== c.phase ? `${c.phase} (${c.reason})` : c.phase;
  const expiry = c.expiresAt ? (c.expiresAt.getTime() > now ? `expires in ${span(c.expiresAt.getTime() - now)}` : 'expired') : 'no expiry';
  return [state, c.node ?? 'unscheduled', c.createdAt ? span(now - c.createdAt.getTime()) : '?', expiry].join(' · ');
}
