import type { JsonWebKey } from "node:crypto";

/** Where a set of public keys is published: a JWKS URL, or an issuer whose OpenID discovery document names one. */
export type KeySetLocation = { kind: "jwks_uri"; uri: string } | { kind: "oidc_discovery"; issuer: string };

/**
 * Thrown when a location's keys cannot be had: never fetched, or stale past the bound, and the
 * fetch fails. The message says what failed in printable ASCII (an OAuth error_description
 * may repeat it).
 */
export class KeySetUnavailableError extends Error {
  override readonly name = "KeySetUnavailableError";
}

/**
 * Public keys fetched from where clients and workload issuers publish them, cached. The core
 * asks for the keys at a location and says which kid it looks for; fetching, caching, limits
 * and refetch rules are the adapter's.
 */
export interface RemoteKeySets {
  /**
   * The signature keys at `location`. When `kid` is given and none of the cached keys has it,
   * the keys are fetched again first (at most so often, so unknown kids cannot make Tessera
   * hammer a server). Throws KeySetUnavailableError.
   */
  keys(location: KeySetLocation, kid: string | undefined): Promise<readonly JsonWebKey[]>;
}

/**
 * Why `url` may not be fetched for keys, or undefined when it may: https only, plain http only
 * to a loopback address and only when `allowHttpLoopback` (a development setting); no
 * credentials in it. Both the checks of registered URLs and every fetch apply this rule.
 */
export function keyUrlProblem(url: URL, allowHttpLoopback: boolean): string | undefined {
  if (url.username !== "" || url.password !== "") return "it must not hold a user name or password";
  if (url.protocol === "https:") return undefined;
  if (url.protocol !== "http:") return "it must be an https URL";
  if (!isLoopbackHost(url.hostname)) return "it must be an https URL (plain http is allowed for loopback addresses only, in development)";
  if (!allowHttpLoopback)
    return "it must be an https URL (plain http to loopback needs --allow-insecure-jwks-uri-loopback, for development)";
  return undefined;
}

/** localhost, 127.0.0.0/8 or ::1, as URL.hostname spells them. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
