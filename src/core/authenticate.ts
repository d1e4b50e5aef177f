import type { AssertionDeps } from "./client-auth/assertion-deps.js";
import { authenticatorFor } from "./client-auth/client-authenticators.js";
import { invalidClient, OAuthError } from "./errors.js";
import type { ClientRecord, Storage } from "./ports/storage.js";
import type { RequestGuard } from "./request-guard.js";
import type { SecretUseTracker } from "./secret-use.js";
import type { ClientCredentials } from "./token-request.js";

/** Longest client id we look up; longer ones cannot exist (ids are validated on create). */
const MAX_CLIENT_ID_LENGTH = 128;

/**
 * Authenticates a client with the credentials it presented, by the method it used (RFC 6749
 * §2.3). Unknown client, wrong or expired secret, disabled client and a client registered for
 * another method all give the same invalid_client error, after the same work. A client
 * assertion that fails a check says which one (RFC 7521 §4.2.1 allows the reason). Every
 * failure counts against the presented id and the caller's address.
 */
export async function authenticateClient(
  storage: Storage,
  credentials: ClientCredentials | undefined,
  now: number,
  secretUse: SecretUseTracker,
  guard?: RequestGuard,
  /** The caller's address, which failures are counted against with the id. */
  origin?: string,
  /** What checking client assertions needs; without it, assertions are refused. */
  assertions?: AssertionDeps,
): Promise<ClientRecord> {
  if (!credentials) {
    throw invalidClient(undefined);
  }
  guard?.checkFailures(credentials.clientId, origin, now);
  const authenticator = authenticatorFor(credentials.method);
  const ctx = { now, replay: storage, secretUse, assertions, origin };
  try {
    authenticator.precheck?.(credentials, ctx);
    const client = credentials.clientId.length <= MAX_CLIENT_ID_LENGTH ? await storage.getClient(credentials.clientId) : undefined;
    const proof = authenticator.verify(client && !client.disabled ? client : undefined, credentials, ctx);
    // The secret methods answer synchronously: no extra await on their token path.
    if (client && (typeof proof === "boolean" ? proof : await proof)) return client;
  } catch (err) {
    // Shared with other replicas before the answer, so the next attempt anywhere counts it.
    if (err instanceof OAuthError && err.code === "invalid_client") await guard?.recordFailure(credentials.clientId, origin, now);
    throw err;
  }
  await guard?.recordFailure(credentials.clientId, origin, now);
  throw invalidClient(credentials.method);
}
