import { hashClientSecret, secretHashesEqual } from "../client-secret.js";
import type { ClientRecord } from "../ports/storage.js";
import type { SecretUseTracker } from "../secret-use.js";

// Compared against when the client is unknown or disabled, so that those cases cost the same
// hashing and comparison as a wrong secret (no early return a stopwatch can see).
const DUMMY_HASH = hashClientSecret("tessera-dummy-secret-for-constant-work");

/**
 * Whether `secret` is one of the client's unexpired secrets (RFC 6749 §2.3.1), comparing it with
 * every one of them in constant time, and with a dummy when there is none: an unknown client, a
 * disabled one, one registered for another method and a wrong secret cost the same work.
 * Notes the use of the secret that matched.
 */
export function proveWithSecret(client: ClientRecord | undefined, secret: string, now: number, secretUse: SecretUseTracker): boolean {
  const presented = hashClientSecret(secret);
  // A client registered for another method has no secrets (they go when the method changes);
  // checked here as well, so that a secret can never prove it.
  const usable = client?.authMethod === "client_secret" ? client.secrets.filter((s) => s.expireTime === null || s.expireTime > now) : [];
  let matched: string | undefined;
  if (usable.length === 0) {
    secretHashesEqual(presented, DUMMY_HASH);
  }
  for (const s of usable) {
    // No break: every usable secret is compared.
    if (secretHashesEqual(presented, s.hash)) matched = s.secretId;
  }
  if (matched === undefined) return false;
  secretUse.mark(matched, now);
  return true;
}
