import { authenticatorFor } from "./client-auth/client-authenticators.js";
import type { ClientRecord, Storage } from "./ports/storage.js";
import { invalidClient } from "./errors.js";
import type { ClientCredentials } from "./token-request.js";
import type { RequestGuard } from "./request-guard.js";
import type { SecretUseTracker } from "./secret-use.js";

/** Longest client id we look up; longer ones cannot exist (ids are validated on create). */
export const MAX_CLIENT_ID_LENGTH = 128;

/**
 * Authenticates a client with the credentials it presented, by the method it used (RFC 6749
 * §2.3). Unknown client, wrong or expired proof and disabled client all give the same
 * invalid_client error, after the same work.
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
  const proven = authenticatorFor(credentials.method).verify(client && !client.disabled ? client : undefined, credentials, now, secretUse);
  if (!client || !proven) {
    // Shared with other replicas before the answer, so the next attempt anywhere counts it.
    await guard?.recordFailure(credentials.clientId, origin, now);
    throw invalidClient(credentials.method);
  }
  return client;
}
