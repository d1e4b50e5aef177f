import { create, type DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { bearerToken } from "./bearer-credentials.js";
import { bearerChallenge } from "./challenge.js";
import { BearerTokenError, KeySetUnavailableError, retryAfterSeconds } from "./errors.js";
import { type AccessTokenVerifier, createVerifier, type VerifierOptions } from "./verifier.js";
import type { AccessTokenClaims } from "./verify-access-token.js";

/** Where the interceptor leaves the verified claims: `ctx.values.get(accessTokenClaimsKey)` in a handler. */
export const accessTokenClaimsKey = createContextKey<AccessTokenClaims | undefined>(undefined, {
  description: "claims of the verified access token",
});

/** How RPCs are protected: the verifier settings plus the scopes each method needs. */
export interface AccessTokenInterceptorOptions extends VerifierOptions {
  /** Scopes every call needs, or per method (e.g. by `method.methodKind` or name). */
  scopes?: (readonly string[] | ((method: DescMethod) => readonly string[])) | undefined;
  /** The realm in the `www-authenticate` trailer. Default: the (first) audience. */
  realm?: string | undefined;
  /** A verifier to share (one JWKS cache). */
  verifier?: AccessTokenVerifier | undefined;
  /** Told about failures that are not the caller's (keys unavailable). */
  onError?: ((err: unknown) => void) | undefined;
}

const GRPC_CODE = {
  missing_token: Code.Unauthenticated,
  invalid_request: Code.Unauthenticated,
  invalid_token: Code.Unauthenticated,
  insufficient_scope: Code.PermissionDenied,
};

/**
 * A Connect server interceptor doing what requireAccessToken does for HTTP: the call needs
 * `authorization: Bearer` with a valid token and the scopes, else UNAUTHENTICATED or
 * PERMISSION_DENIED with the RFC 6750 code as a google.rpc.ErrorInfo reason (and the
 * challenge in a `www-authenticate` trailer). On success the claims are in the context.
 */
export function accessTokenInterceptor(options: AccessTokenInterceptorOptions): Interceptor {
  const verify = options.verifier ?? createVerifier(options);
  const realm = options.realm ?? (typeof options.audience === "string" ? options.audience : (options.audience[0] ?? options.issuer));
  const scopesFor = typeof options.scopes === "function" ? options.scopes : () => (options.scopes ?? []) as readonly string[];
  return (next) => async (req) => {
    let claims: AccessTokenClaims;
    try {
      // gRPC has no query string; the header is the only place a token can be.
      claims = await verify(bearerToken(req.header.get("authorization"), undefined), scopesFor(req.method));
    } catch (err) {
      if (err instanceof BearerTokenError) throw refusal(err, options.issuer, realm);
      if (err instanceof KeySetUnavailableError) {
        options.onError?.(err);
        const trailers = err.retryAfterMs === undefined ? undefined : { "retry-after": String(retryAfterSeconds(err.retryAfterMs)) };
        throw new ConnectError("the token issuer's keys are unavailable; retry later", Code.Unavailable, trailers);
      }
      throw err;
    }
    req.contextValues.set(accessTokenClaimsKey, claims);
    return next(req);
  };
}

function refusal(err: BearerTokenError, issuer: string, realm: string): ConnectError {
  return new ConnectError(err.message, GRPC_CODE[err.code], { "www-authenticate": bearerChallenge(err, realm) }, [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: err.code, domain: issuer, metadata: scopeMetadata(err) }) },
  ]);
}

function scopeMetadata(err: BearerTokenError): Record<string, string> {
  return err.code === "insufficient_scope" ? { scope: err.requiredScopes.join(" ") } : {};
}
