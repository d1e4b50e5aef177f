import { IssuerKeys, type IssuerKeysOptions } from "./issuer-keys.js";
import { type AccessTokenClaims, type VerifyOptions, verifyAccessToken } from "./verify-access-token.js";

/** A resource server's settings: what tokens must say, and where the issuer's keys are. */
export interface VerifierOptions
  extends Omit<VerifyOptions, "keys" | "requiredScopes">,
    Pick<IssuerKeysOptions, "jwksUri" | "metadataUrl" | "fetch"> {
  /** Keys to share with other verifiers; by default this verifier caches its own. */
  keys?: IssuerKeys;
}

/** Verifies one token, optionally requiring scopes; keys are cached across calls. */
export type AccessTokenVerifier = (token: string, requiredScopes?: readonly string[]) => Promise<AccessTokenClaims>;

/** Binds verifyAccessToken to one issuer, audience and cached key set. */
export function createVerifier(options: VerifierOptions): AccessTokenVerifier {
  const { jwksUri, metadataUrl, fetch, ...verify } = options;
  const keys =
    options.keys ??
    new IssuerKeys({
      issuer: options.issuer,
      ...(jwksUri ? { jwksUri } : {}),
      ...(metadataUrl ? { metadataUrl } : {}),
      ...(fetch ? { fetch } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  return (token, requiredScopes = []) => verifyAccessToken(token, { ...verify, keys, requiredScopes });
}
