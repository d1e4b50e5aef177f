import type { JsonWebKey } from "node:crypto";
import { createHash } from "node:crypto";

// RFC 7638 §3.2: the required members of each key type, in lexicographic order.
const REQUIRED: Record<string, readonly string[]> = {
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
  RSA: ["e", "kty", "n"],
};

/** The RFC 7638 JWK SHA-256 thumbprint, base64url: our `kid`. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members = REQUIRED[jwk.kty ?? ""];
  if (!members) throw new TypeError(`unsupported key type ${String(jwk.kty)}`);
  for (const m of members) {
    if (typeof jwk[m] !== "string") throw new TypeError(`JWK is missing the "${m}" member`);
  }
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(",")}}`;
  return createHash("sha256").update(canonical).digest("base64url");
}
