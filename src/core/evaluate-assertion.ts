import type { AssertionDeps } from "./client-auth/assertion-deps.js";
import { clientAssertion, JWT_BEARER } from "./client-auth/client-assertion.js";
import type { VerifyContext } from "./client-auth/client-authenticator.js";
import type { Clock } from "./clock.js";
import { OAuthError } from "./errors.js";
import type { Storage } from "./ports/storage.js";
import { SecretUseTracker } from "./secret-use.js";

/** What evaluating an assertion found: accepted, or the first check that failed. */
export interface AssertionEvaluation {
  accepted: boolean;
  /** How the client is registered to authenticate ("" when the client is unknown). */
  authMethod: string;
  /** The failed check in words (an OAuth error_description), or what was checked. */
  description: string;
  /** The assertion's iss and sub as sent (not verified unless accepted). */
  issuer: string;
  subject: string;
}

// Everything checked is said; the jti is not used up, so the same assertion still works.
const ACCEPTED =
  "every check passed: signature, issuer and subject, audience, times, and the credential's rules; the jti was not used up (a real request checks and records it)";

/**
 * Runs every check a token request would run on `assertion` for `clientId`, and reports the
 * first that fails, without issuing anything, recording its jti or counting a failure. For
 * admins debugging a workload: unlike the token endpoint, it also says when the client is
 * unknown, disabled or registered for a secret.
 */
export async function evaluateAssertion(
  deps: { storage: Storage; clock: Clock; assertions: AssertionDeps },
  clientId: string,
  assertion: string,
): Promise<AssertionEvaluation> {
  const params = new Map([
    ["client_id", clientId],
    ["client_assertion_type", JWT_BEARER],
    ["client_assertion", assertion],
  ]);
  let issuer = "";
  let subject = "";
  let authMethod = "";
  try {
    const credentials = clientAssertion.read(undefined, params, (m, name) => m.get(name) || undefined);
    if (credentials === undefined || !("jwt" in credentials)) throw new OAuthError("invalid_request", "The client_assertion is missing");
    issuer = String(credentials.jwt.claims.iss ?? "");
    subject = String(credentials.jwt.claims.sub ?? "");
    const ctx: VerifyContext = {
      now: deps.clock(),
      replay: { recordAssertionJti: async () => true },
      secretUse: new SecretUseTracker(),
      assertions: { ...deps.assertions, federatedUse: undefined },
      origin: undefined,
    };
    clientAssertion.precheck?.(credentials, ctx);
    const client = await deps.storage.getClient(clientId);
    if (!client) return refused(`The client ${JSON.stringify(clientId)} does not exist`);
    authMethod = client.authMethod;
    if (client.disabled) return refused(`The client ${clientId} is disabled`);
    if (client.authMethod === "client_secret")
      return refused(`The client ${clientId} authenticates with a client secret, not with an assertion`);
    await clientAssertion.verify(client, credentials, ctx);
    return { accepted: true, authMethod, description: ACCEPTED, issuer, subject };
  } catch (err) {
    if (err instanceof OAuthError) return refused(err.description);
    throw err;
  }

  function refused(description: string): AssertionEvaluation {
    return { accepted: false, authMethod, description, issuer, subject };
  }
}
