import type { ClientRecord, Storage } from "./ports/storage.js";
import { hashClientSecret, secretHashesEqual } from "./client-secret.js";
import { invalidClient } from "./errors.js";
import type { ClientCredentials } from "./token-request.js";
import type { RequestGuard } from "./request-guard.js";
import type { SecretUseTracker } from "./secret-use.js";

// Compared against when the client is unknown or disabled, so that those cases cost the same
// hashing and comparison as a wrong secret (no early return a stopwatch can see).
const DUMMY_HASH = hashClientSecret("tessera-dummy-secret-for-constant-work");

/** Longest client id we look up; longer ones cannot exist (ids are validated on create). */
export const MAX_CLIENT_ID_LENGTH = 128;

/**
 * Authenticates a client by id and secret (RFC 6749 §2.3.1). Unknown client, wrong secret,
 * expired secret and disabled client all give the same invalid_client error.
 */
export async function authenticateClient(
  storage: Storage,
  credentials: ClientCredentials | undefined,
  now: number,
  secretUse: SecretUseTracker,
  guard?: RequestGuard,
  /** The caller's address, which failures are counted against with the id. */
  origin?: string,
): Promise<ClientRecord> {
  if (!credentials) {
    throw invalidClient(undefined);
  }
  guard?.checkFailures(credentials.clientId, origin, now);
  const client =
    credentials.clientId.length <= MAX_CLIENT_ID_LENGTH ? await storage.getClient(credentials.clientId) : undefined;
  const presented = hashClientSecret(credentials.clientSecret);
  const usable = client && !client.disabled ? client.secrets.filter((s) => s.expireTime === null || s.expireTime > now) : [];
  let matched: string | undefined;
  if (usable.length === 0) {
    secretHashesEqual(presented, DUMMY_HASH);
  }
  for (const s of usable) {
    // No break: every usable secret is compared.
    if (secretHashesEqual(presented, s.hash)) matched = s.secretId;
  }
  if (!client || matched === undefined) {
    guard?.recordFailure(credentials.clientId, origin, now);
    throw invalidClient(credentials.method);
  }
  secretUse.mark(matched, now);
  return client;
}
