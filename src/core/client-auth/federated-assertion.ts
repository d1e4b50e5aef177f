import type { ClientRecord, FederatedCredential } from "../ports/storage.js";
import { quoted } from "../quoted.js";
import { ASSERTION_SKEW_SECONDS, checkSoleAudience, refuse, requireJti } from "./assertion-claims.js";
import type { AssertionDeps } from "./assertion-deps.js";
import { type KeyChoice, verifySignature } from "./assertion-keys.js";
import type { VerifyContext } from "./client-authenticator.js";
import type { CompactJwt } from "./compact-jwt.js";

/**
 * Checks a workload's platform token (a Kubernetes service-account token, a SPIFFE JWT-SVID,
 * a GitHub Actions OIDC token) against the client's federated credentials: the one trusting
 * its issuer and subject (exact matches) must also accept its audience (alone), its age and
 * its other claims, and the token must be signed by that issuer's keys. Platform tokens are
 * often reused (Kubernetes hands a pod the same token for a while), so a jti is required, and
 * used once, only when the credential says so. The algorithm and times were checked before
 * the client was read (client-assertion.ts).
 */
export async function verifyFederatedToken(
  client: ClientRecord,
  jwt: CompactJwt,
  alg: string,
  ctx: VerifyContext,
  deps: AssertionDeps,
): Promise<boolean> {
  const rule = matchingRule(client, jwt);
  checkSoleAudience(jwt, rule.audience, "the audience of the federated credential");
  checkAge(jwt, ctx.now, rule.maxAgeSeconds);
  checkConditions(jwt, rule);
  const jti = rule.requireJti ? requireJti(jwt, "the federated credential requires one, used once") : undefined;
  await verifySignature(jwt, alg, keysOf(rule), deps.keySets, deps.importedKeys);
  if (jti !== undefined) {
    const exp = jwt.claims.exp as number;
    if (!(await ctx.replay.recordAssertionJti(client.clientId, jti, (exp + ASSERTION_SKEW_SECONDS) * 1000, ctx.now))) {
      throw refuse("The client_assertion's jti was used before: this federated credential accepts each token once");
    }
  }
  deps.federatedUse?.mark(client.clientId, rule, ctx.now, ctx.origin);
  return true;
}

/** The credential trusting the token's issuer and subject. */
function matchingRule(client: ClientRecord, jwt: CompactJwt): FederatedCredential {
  const { iss, sub } = jwt.claims;
  if (typeof iss !== "string" || typeof sub !== "string") throw refuse("The client_assertion needs iss and sub claims (strings)");
  const forIssuer = client.federatedCredentials.filter((f) => f.issuer === iss);
  if (forIssuer.length === 0) throw refuse(`No federated credential of this client trusts the issuer ${quoted(iss)}`);
  const rule = forIssuer.find((f) => f.subject === sub);
  if (rule === undefined)
    throw refuse(`No federated credential of this client trusts the subject ${quoted(sub)} of the issuer ${quoted(iss)}`);
  return rule;
}

/** now - iat within the credential's maximum age; without iat, the time left until exp must be within it. */
function checkAge(jwt: CompactJwt, now: number, maxAgeSeconds: number): void {
  const iat = jwt.claims.iat;
  if (typeof iat === "number") {
    const age = Math.floor(now / 1000 - iat);
    if (age > maxAgeSeconds)
      throw refuse(`The client_assertion was issued ${age}s ago; the federated credential accepts tokens at most ${maxAgeSeconds}s old`);
    return;
  }
  const left = (jwt.claims.exp as number) - now / 1000;
  if (left > maxAgeSeconds + ASSERTION_SKEW_SECONDS) {
    throw refuse(
      `The client_assertion has no iat and is valid for ${Math.round(left)}s more; the federated credential accepts tokens at most ${maxAgeSeconds}s old`,
    );
  }
}

/** Every condition holds: the claim is a string, number or boolean equal to one of the values. */
function checkConditions(jwt: CompactJwt, rule: FederatedCredential): void {
  for (const c of rule.conditions) {
    const value = jwt.claims[c.claim];
    if (value === undefined) throw refuse(`The client_assertion lacks the claim ${quoted(c.claim)} that the federated credential requires`);
    const text = typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;
    if (text === undefined || !c.values.includes(text)) {
      const wanted = c.values.length === 1 ? quoted(c.values[0] ?? "") : `one of ${c.values.length} values`;
      throw refuse(
        `The client_assertion's claim ${quoted(c.claim)} is ${text === undefined ? "not a plain value" : quoted(text)}; the federated credential requires ${wanted}`,
      );
    }
  }
}

function keysOf(rule: FederatedCredential): KeyChoice {
  const s = rule.keySource;
  if (s.kind === "jwks") return { source: { keys: s.keys }, name: "the federated credential's keys" };
  if (s.kind === "jwks_uri") return { source: { location: { kind: "jwks_uri", uri: s.uri } }, name: `the keys at ${quoted(s.uri)}` };
  return { source: { location: { kind: "oidc_discovery", issuer: rule.issuer } }, name: `the keys of the issuer ${quoted(rule.issuer)}` };
}
