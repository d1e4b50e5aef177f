import { OAuthError } from "../errors.js";
import { quoted } from "../quoted.js";
import { checkAlgorithm, checkTimes, refuse } from "./assertion-claims.js";
import type { ClientAuthenticator } from "./client-authenticator.js";
import { type CompactJwt, decodeCompactJwt } from "./compact-jwt.js";
import { verifyFederatedToken } from "./federated-assertion.js";
import { verifyPrivateKeyJwt } from "./private-key-jwt.js";

/** The one client_assertion_type accepted (RFC 7523 §2.2). */
export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/**
 * What a client assertion presents: the client it names and the JWT, decoded (not verified).
 * `method` is how the request looks (private_key_jwt when iss and sub are the client id, a
 * federated platform token otherwise), for logs and metrics; what is checked follows how the
 * client is registered.
 */
interface AssertionCredentials {
  clientId: string;
  method: "private_key_jwt" | "federated";
  jwt: CompactJwt;
}

declare module "./client-authenticator.js" {
  interface CredentialsByMethod {
    private_key_jwt: AssertionCredentials;
    federated: AssertionCredentials;
  }
}

/**
 * Client authentication with a signed JWT (RFC 7521 §4.2, RFC 7523 §2.2): `client_assertion_type`
 * and `client_assertion`, and `client_id` (optional when the assertion's iss and sub name the
 * client). A client registered for private_key_jwt signs it with its own key; a client registered
 * for federation sends its workload's platform token.
 */
export const clientAssertion: ClientAuthenticator = {
  name: "private_key_jwt",
  aliases: ["federated"],
  params: ["client_assertion_type", "client_assertion"],
  scheme: undefined,
  noun: "the client_assertion",
  read(_authorization, source, param) {
    const type = param(source, "client_assertion_type");
    const assertion = param(source, "client_assertion");
    if (type === undefined && assertion === undefined) return undefined;
    if (type === undefined || assertion === undefined) {
      throw new OAuthError("invalid_request", "client_assertion and client_assertion_type go together (RFC 7521 section 4.2)");
    }
    if (type !== JWT_BEARER) {
      throw new OAuthError(
        "invalid_request",
        `The client_assertion_type ${quoted(type)} is not supported: use ${JWT_BEARER} (RFC 7523 section 2.2)`,
      );
    }
    const jwt = decodeCompactJwt(assertion);
    if (jwt === undefined) {
      throw refuse(
        "The client_assertion is not a signed JWT: a compact JWS of three base64url parts whose header and claims are JSON objects",
      );
    }
    const { iss, sub } = jwt.claims;
    const clientId = param(source, "client_id") ?? (typeof iss === "string" && iss === sub ? iss : undefined);
    if (clientId === undefined) {
      throw new OAuthError(
        "invalid_request",
        "The client_id parameter is required with this client_assertion: its iss and sub do not name one client (a platform token names its own issuer and subject)",
      );
    }
    return { clientId, method: iss === clientId && sub === clientId ? "private_key_jwt" : "federated", jwt };
  },
  precheck(credentials, ctx) {
    if (!("jwt" in credentials)) return;
    checkAlgorithm(credentials.jwt);
    checkTimes(credentials.jwt, ctx.now);
  },
  async verify(client, credentials, ctx) {
    if (!("jwt" in credentials) || client === undefined) return false;
    const deps = ctx.assertions;
    if (deps === undefined) throw refuse("This server accepts no client assertions");
    const alg = checkAlgorithm(credentials.jwt);
    if (client.authMethod === "private_key_jwt") return verifyPrivateKeyJwt(client, credentials.jwt, alg, ctx, deps);
    if (client.authMethod === "federated") return verifyFederatedToken(client, credentials.jwt, alg, ctx, deps);
    return false;
  },
};
