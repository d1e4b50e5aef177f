import type { ConnectionTracker } from "./connection-tracker.js";

/** How a listener lets its connections go. */
export interface DrainPolicy {
  /** How long requests in flight may take to finish. */
  graceMs: number;
  /** When idle HTTP/1.1 keep-alive connections are closed (capped at `graceMs`). */
  idleCutoffMs: number;
  /** Closes the HTTP/1.1 connections that have no request in flight (none over TLS). */
  closeIdle?: (() => void) | undefined;
}

/**
 * Lets the tracked connections finish, then ends what is left. HTTP/2 sessions get GOAWAY at
 * once. Idle HTTP/1.1 connections are closed only after `idleCutoffMs`: closing one races
 * with a request the client may be sending on it (RFC 9112 §9.6), so for a moment busy
 * clients get their next answer with Connection: close instead. Resolves when the last
 * connection has closed, or when the grace period is over and every connection left has been
 * destroyed. The timers keep the process alive while a caller awaits the drain.
 */
export async function drain(tracker: ConnectionTracker, policy: DrainPolicy): Promise<void> {
  tracker.closeSessions();
  const closeIdle = policy.closeIdle;
  const idle = closeIdle && setTimeout(closeIdle, Math.min(policy.graceMs, policy.idleCutoffMs));
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([tracker.whenEmpty(), new Promise<void>((resolve) => (grace = setTimeout(resolve, policy.graceMs)))]);
  clearTimeout(grace);
  clearTimeout(idle);
  tracker.destroyAll();
}
