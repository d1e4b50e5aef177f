import { OAuthError } from "../errors.js";
import { clientAssertion } from "./client-assertion.js";
import type { ClientAuthenticator, ClientAuthMethod, ClientCredentials, ParamReader } from "./client-authenticator.js";
import { clientSecretBasic } from "./client-secret-basic.js";
import { clientSecretPost } from "./client-secret-post.js";

/**
 * Every client authentication method this server accepts. The doors read requests through
 * this list, the core verifies through it and the metadata document lists it: a new method
 * is its own file and one line here.
 */
const CLIENT_AUTHENTICATORS: readonly ClientAuthenticator[] = [clientSecretBasic, clientSecretPost, clientAssertion];

/** The accepted methods' names, for the metadata document (RFC 8414 §2). */
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = CLIENT_AUTHENTICATORS.map((a) => a.name);

/** Every parameter a method reads: none of them may arrive in a query string (RFC 6749 §2.3.1). */
export const CREDENTIAL_PARAMS: ReadonlySet<string> = new Set(CLIENT_AUTHENTICATORS.flatMap((a) => a.params));

const BY_NAME = new Map<string, ClientAuthenticator>(
  CLIENT_AUTHENTICATORS.flatMap((a) => [a.name, ...(a.aliases ?? [])].map((n) => [n, a] as const)),
);
const HEADER_METHODS = CLIENT_AUTHENTICATORS.filter((a) => a.scheme !== undefined);
const UNSUPPORTED_SCHEME = `Only ${HEADER_METHODS.map((a) => a.scheme).join(" or ")} client authentication is supported in the Authorization header`;

/** The method named `method`; every name a ClientCredentials can carry is registered above. */
export function authenticatorFor(method: ClientAuthMethod): ClientAuthenticator {
  const a = BY_NAME.get(method);
  if (a === undefined) throw new Error(`no client authentication method ${method} is registered`);
  return a;
}

/** The Authorization scheme a failed authentication is challenged with (WWW-Authenticate), if the client used one. */
export function challengeScheme(method: ClientAuthMethod | undefined): string | undefined {
  return method === undefined ? undefined : BY_NAME.get(method)?.scheme;
}

/**
 * The client credentials a request presents, whichever door it came through: at most one
 * method per request (RFC 6749 §2.3: "MUST NOT use more than one authentication method in
 * each request"), an Authorization scheme no method reads is refused, and a client_id
 * parameter must name the client the credentials prove. A client_id alone (no proof) is read
 * as client_secret_post with an empty secret, so it fails, and is throttled, like a wrong one.
 */
export function readClientCredentials<S>(
  authorization: string | undefined,
  source: S,
  param: ParamReader<S>,
): ClientCredentials | undefined {
  let chosen: ClientCredentials | undefined;
  let byHeader = false;
  for (const a of CLIENT_AUTHENTICATORS) {
    const c = a.read(authorization, source, param);
    if (c === undefined) continue;
    if (chosen !== undefined)
      throw new OAuthError("invalid_request", "The request uses more than one client authentication method (RFC 6749 section 2.3)");
    chosen = c;
    byHeader = a.scheme !== undefined;
  }
  if (authorization !== undefined && authorization !== "" && !byHeader) {
    throw new OAuthError("invalid_client", UNSUPPORTED_SCHEME, HEADER_METHODS[0]?.name);
  }
  const clientId = param(source, "client_id");
  if (chosen === undefined) {
    return clientId === undefined ? undefined : { clientId, clientSecret: "", method: "client_secret_post" };
  }
  // Proof without a client to prove: as if nothing was presented.
  if (chosen.clientId === "") return undefined;
  if (clientId !== undefined && clientId !== chosen.clientId) {
    throw new OAuthError("invalid_request", `The client_id parameter does not match ${authenticatorFor(chosen.method).noun}`);
  }
  return chosen;
}
