import type { JsonWebKey } from "node:crypto";
import { AdminError } from "./errors.js";
import { randomId } from "./ids.js";
import { checkKeyUrl } from "./key-url.js";
import type { ClaimCondition, FederatedCredential, FederatedKeySource } from "./ports/storage.js";
import { preview } from "./preview.js";
import { checkPublicJwk } from "./public-jwk.js";

/** GitHub Actions' OIDC issuer: shared by every repository on GitHub. */
const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";
/** Claims of a GitHub Actions token that name a repository or its owner for good (ids are never reused, names are). */
const GITHUB_ID_CLAIMS = ["repository_owner_id", "repository_id"] as const;
/** A platform token's age limit when the admin sets none. */
const DEFAULT_MAX_TOKEN_AGE_SECONDS = 3600;
const MAX_TOKEN_AGE_SECONDS = 24 * 3600;
const MIN_TOKEN_AGE_SECONDS = 60;
/** Claims every credential checks itself; a condition on them would be misleading. */
const CHECKED_CLAIMS = new Set(["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]);
const MAX_CONDITIONS = 20;
const MAX_VALUES = 100;
const MAX_STATIC_KEYS = 20;

/** A federated credential as an admin describes it; absent fields take their defaults. */
export interface FederatedCredentialInput {
  name: string;
  issuer: string;
  subject: string;
  /** Keys from this JWKS URL; with neither this nor `jwks`, from the issuer's OpenID discovery. */
  jwksUri: string | undefined;
  /** Keys given as a JWKS ({"keys": [...]}), for an issuer Tessera cannot reach. */
  jwks: unknown;
  /** Undefined: our issuer identifier. */
  audience: string | undefined;
  conditions: ClaimCondition[];
  maxAgeSeconds: number | undefined;
  requireJti: boolean;
}

/**
 * Checks a federated credential and fills in its defaults. Refuses, saying why, a rule for
 * GitHub Actions' shared issuer without a condition on repository_owner_id or repository_id:
 * any repository on GitHub could otherwise present a matching token.
 */
export async function checkFederatedCredential(
  input: FederatedCredentialInput,
  ourIssuer: string,
  allowHttpLoopback: boolean,
  now: number,
): Promise<FederatedCredential> {
  const issuer = checkKeyUrl(input.issuer, "issuer", allowHttpLoopback);
  const conditions = checkConditions(input.conditions);
  checkGithubRule(issuer, conditions);
  return {
    credentialId: randomId("fc_", 9),
    name: checkText(input.name, "name", 0, 200),
    issuer,
    subject: checkText(input.subject, "subject", 1, 1000),
    keySource: await keySource(input, allowHttpLoopback),
    audience: input.audience === undefined || input.audience === "" ? ourIssuer : checkText(input.audience, "audience", 1, 2000),
    conditions,
    maxAgeSeconds: checkMaxAge(input.maxAgeSeconds),
    requireJti: input.requireJti,
    createTime: now,
  };
}

async function keySource(input: FederatedCredentialInput, allowHttpLoopback: boolean): Promise<FederatedKeySource> {
  const hasJwks = input.jwks !== undefined && input.jwks !== null;
  if (input.jwksUri !== undefined && input.jwksUri !== "" && hasJwks)
    throw invalid("give jwks_uri or jwks, not both (neither: the issuer's OpenID discovery document)");
  if (input.jwksUri !== undefined && input.jwksUri !== "")
    return { kind: "jwks_uri", uri: checkKeyUrl(input.jwksUri, "jwks_uri", allowHttpLoopback) };
  if (!hasJwks) return { kind: "oidc_discovery" };
  const keys = (input.jwks as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_STATIC_KEYS)
    throw invalid(`jwks must be a JWKS: {"keys": [...]} with 1 to ${MAX_STATIC_KEYS} public keys`);
  const checked: JsonWebKey[] = [];
  for (const [i, k] of keys.entries()) checked.push(await checkPublicJwk(k, `jwks.keys[${i}]`));
  return { kind: "jwks", keys: checked };
}

function checkConditions(conditions: ClaimCondition[]): ClaimCondition[] {
  if (conditions.length > MAX_CONDITIONS) throw invalid(`conditions may hold at most ${MAX_CONDITIONS} conditions`);
  const seen = new Set<string>();
  return conditions.map((c, i) => {
    const claim = checkText(c.claim, `conditions[${i}].claim`, 1, 100);
    if (CHECKED_CLAIMS.has(claim))
      throw invalid(`conditions[${i}] is on ${claim}, which the credential checks itself (issuer, subject, audience, times, jti)`);
    if (seen.has(claim)) throw invalid(`conditions name the claim ${preview(claim)} twice: give one condition with every accepted value`);
    seen.add(claim);
    if (c.values.length === 0 || c.values.length > MAX_VALUES) throw invalid(`conditions[${i}] must accept 1 to ${MAX_VALUES} values`);
    const values = [...new Set(c.values.map((v, j) => checkText(v, `conditions[${i}].values[${j}]`, 1, 1000)))];
    if ((GITHUB_ID_CLAIMS as readonly string[]).includes(claim) && !values.every((v) => /^[1-9]\d{0,19}$/.test(v))) {
      throw invalid(
        `conditions[${i}] on ${claim} must hold numeric ids (GitHub shows them with: gh api repos/OWNER/REPO --jq .id,.owner.id), not names`,
      );
    }
    return { claim, values };
  });
}

/** GitHub Actions' issuer (and its per-enterprise forms) needs a condition on a repository or owner id. */
function checkGithubRule(issuer: string, conditions: ClaimCondition[]): void {
  if (issuer !== GITHUB_ACTIONS_ISSUER && !issuer.startsWith(`${GITHUB_ACTIONS_ISSUER}/`)) return;
  if (conditions.some((c) => (GITHUB_ID_CLAIMS as readonly string[]).includes(c.claim))) return;
  throw new AdminError(
    "failed_precondition",
    `a federated credential for GitHub Actions (${GITHUB_ACTIONS_ISSUER}) needs a condition on repository_owner_id or repository_id: ` +
      "that issuer signs tokens for every repository on GitHub, and the subject names a repository by a name that its owner can rename and " +
      "someone else can then register, so without an id condition another account's workflow could become this client",
  );
}

function checkMaxAge(seconds: number | undefined): number {
  if (seconds === undefined) return DEFAULT_MAX_TOKEN_AGE_SECONDS;
  if (!Number.isInteger(seconds) || seconds < MIN_TOKEN_AGE_SECONDS || seconds > MAX_TOKEN_AGE_SECONDS) {
    throw invalid(`max_token_age must be whole seconds from ${MIN_TOKEN_AGE_SECONDS}s to ${MAX_TOKEN_AGE_SECONDS}s`);
  }
  return seconds;
}

function checkText(value: string, field: string, min: number, max: number): string {
  if (value.length < min || value.length > max || /[\p{C}\p{Zl}\p{Zp}]/u.test(value) || value.trim() !== value) {
    throw invalid(`${field} must be ${min}-${max} characters without control characters or surrounding spaces`);
  }
  return value;
}

function invalid(message: string): AdminError {
  return new AdminError("invalid_argument", message);
}
