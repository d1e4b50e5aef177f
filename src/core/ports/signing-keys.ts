import type { JsonWebKey } from "node:crypto";

/** A public JWK as published in our JWKS. */
export interface PublicJwk extends JsonWebKey {
  kid: string;
  alg: string;
  use: "sig";
}

/** Turns JWT claims into a signed compact JWS with the current signing key (RFC 9068 §2.1). */
export interface TokenSigner {
  sign(claims: object): string;
}

/** When each published key stopped signing, for refusing tokens only a leaked key could make. */
export interface KeyRetirement {
  /** Epoch ms; undefined while the key signs, waits to, or is unknown. */
  retireTime(kid: string): number | undefined;
}
