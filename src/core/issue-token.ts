import { randomUUID } from "node:crypto";
import { authenticateClient } from "./authenticate.js";
import type { AssertionDeps } from "./client-auth/assertion-deps.js";
import type { Clock } from "./clock.js";
import { OAuthError } from "./errors.js";
import type { TokenSigner } from "./ports/signing-keys.js";
import type { ClientRecord, Storage } from "./ports/storage.js";
import { quoted } from "./quoted.js";
import type { RequestGuard } from "./request-guard.js";
import { parseScope } from "./scope.js";
import type { SecretUseTracker } from "./secret-use.js";
import { issuedAt } from "./token-cutoffs.js";
import type { TokenRequest, TokenResponse } from "./token-request.js";

/** What issuing tokens needs, passed in explicitly. */
export interface IssueTokenDeps {
  storage: Storage;
  signer: TokenSigner;
  clock: Clock;
  issuer: string;
  secretUse: SecretUseTracker;
  /** Rate limits and failed-authentication throttling; none when absent. */
  guard?: RequestGuard | undefined;
  /** What checking client assertions (private_key_jwt, federated) needs; without it they are refused. */
  assertions?: AssertionDeps | undefined;
}

/**
 * The client credentials grant (RFC 6749 §4.4): authenticate the client, decide scope and
 * audience, sign an RFC 9068 access token. Reads storage, signs, answers; writes nothing for a
 * secret client (a client assertion's jti is recorded once, in the replay store).
 */
export async function issueToken(deps: IssueTokenDeps, req: TokenRequest): Promise<TokenResponse> {
  const now = deps.clock();
  deps.guard?.admitAddress(req.origin, now);
  const client = await authenticateClient(deps.storage, req.credentials, now, deps.secretUse, deps.guard, req.origin, deps.assertions);
  deps.guard?.admitClient(client.clientId, now);
  const scopes = grantScopes(client, req.scope);
  const aud = chooseAudience(client, req.audiences, deps.issuer);
  // After a cut-off in this same second, iat must not fall before it (token-cutoffs.ts):
  // at most one second ahead of the clock, well within verifiers' skew.
  const iat = issuedAt(client, scopes, now);
  const claims: Record<string, unknown> = {
    iss: deps.issuer,
    sub: client.clientId,
    aud: aud.length === 1 ? aud[0] : aud,
    exp: iat + client.tokenTtlSeconds,
    iat,
    jti: randomUUID(),
    client_id: client.clientId,
  };
  if (scopes.length > 0) claims.scope = scopes.join(" ");
  const res: TokenResponse = { access_token: deps.signer.sign(claims), token_type: "Bearer", expires_in: client.tokenTtlSeconds };
  if (scopes.length > 0) res.scope = scopes.join(" ");
  return res;
}

/** RFC 6749 §3.3: no scope means all allowed scopes; a scope not allowed is refused, never narrowed. */
function grantScopes(client: ClientRecord, raw: string | undefined): string[] {
  const requested = parseScope(raw ?? "");
  if (requested.length === 0) return client.scopes;
  const allowed = new Set(client.scopes);
  for (const s of requested) {
    if (!allowed.has(s)) {
      throw new OAuthError("invalid_scope", `The scope ${quoted(s)} is not allowed for this client`);
    }
  }
  return requested;
}

/** RFC 8707 §2: every requested resource must be one the client may get tokens for. */
function chooseAudience(client: ClientRecord, requested: string[], issuer: string): string[] {
  if (requested.length === 0) return client.audiences.length > 0 ? client.audiences : [issuer];
  const allowed = new Set(client.audiences);
  const out: string[] = [];
  for (const a of requested) {
    if (!allowed.has(a)) {
      throw new OAuthError("invalid_target", `The audience ${quoted(a)} is not allowed for this client`);
    }
    if (!out.includes(a)) out.push(a);
  }
  return out;
}
