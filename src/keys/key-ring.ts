import { createPrivateKey, createPublicKey, sign, type KeyObject, type JsonWebKey } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { SigningKeyRecord, Storage } from "../storage/storage.js";
import { generatePrivateKey, signParams, type SigningAlg } from "./algorithms.js";
import { jwkThumbprint } from "./thumbprint.js";

/** A public JWK as published in our JWKS. */
export interface PublicJwk extends JsonWebKey {
  kid: string;
  alg: string;
  use: "sig";
}

interface ActiveKey {
  kid: string;
  alg: SigningAlg;
  headerB64: string;
  digest: string | null;
  signKey: ReturnType<typeof signParams>["key"];
}

/** How long a retired key stays published: the longest token lifetime plus clock skew. */
export const RETIRED_KEY_PUBLISH_MS = (24 * 3600 + 300) * 1000;

/** Builds a storable key record for a fresh key of `alg`. */
export function newSigningKeyRecord(alg: SigningAlg, now: number): SigningKeyRecord {
  const priv = generatePrivateKey(alg);
  const pub = createPublicKey(priv).export({ format: "jwk" });
  const kid = jwkThumbprint(pub);
  return {
    kid,
    alg,
    privateJwk: JSON.stringify(priv.export({ format: "jwk" })),
    publicJwk: JSON.stringify({ ...pub, kid, alg, use: "sig" }),
    status: "current",
    createTime: now,
    retireTime: null,
  };
}

/**
 * The signing keys: signs access tokens with the current key and publishes the JWKS. Keys live
 * in storage, so every process on one database signs with the same key and publishes the
 * same set.
 */
export class KeyRing {
  #active!: ActiveKey;
  #jwks: { keys: PublicJwk[] } = { keys: [] };

  private constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
  ) {}

  /** Loads the keys, generating a key for `alg` if there is none or the current one uses another algorithm. */
  static async open(storage: Storage, alg: SigningAlg, clock: Clock): Promise<KeyRing> {
    const ring = new KeyRing(storage, clock);
    const current = (await storage.listSigningKeys()).find((k) => k.status === "current");
    const fresh = current?.alg === alg ? undefined : newSigningKeyRecord(alg, clock());
    await storage.ensureCurrentKey(
      (k) => k.alg === alg,
      () => fresh ?? newSigningKeyRecord(alg, clock()),
      clock(),
    );
    await ring.reload();
    return ring;
  }

  /** Re-reads keys from storage (another process may have changed them). */
  async reload(): Promise<void> {
    const records = await this.storage.listSigningKeys();
    const current = records.find((k) => k.status === "current");
    if (!current) throw new Error("no current signing key in storage");
    const now = this.clock();
    this.#active = activate(current);
    this.#jwks = {
      keys: records
        .filter((k) => k.status === "current" || (k.retireTime ?? 0) + RETIRED_KEY_PUBLISH_MS > now)
        .map((k) => JSON.parse(k.publicJwk) as PublicJwk),
    };
  }

  /** The algorithm and key id that new tokens are signed with. */
  get current(): { kid: string; alg: SigningAlg } {
    return { kid: this.#active.kid, alg: this.#active.alg };
  }

  /** The published JSON Web Key Set (public members only). */
  get jwks(): { keys: PublicJwk[] } {
    return this.#jwks;
  }

  /** Signs `claims` as a compact JWS with `typ: at+jwt` (RFC 9068 §2.1). */
  sign(claims: object): string {
    const a = this.#active;
    const input = a.headerB64 + "." + Buffer.from(JSON.stringify(claims)).toString("base64url");
    return input + "." + sign(a.digest, Buffer.from(input), a.signKey).toString("base64url");
  }
}

function activate(k: SigningKeyRecord): ActiveKey {
  const alg = k.alg as SigningAlg;
  const key: KeyObject = createPrivateKey({ key: JSON.parse(k.privateJwk) as JsonWebKey, format: "jwk" });
  const params = signParams(alg, key);
  return {
    kid: k.kid,
    alg,
    headerB64: Buffer.from(JSON.stringify({ alg, typ: "at+jwt", kid: k.kid })).toString("base64url"),
    digest: params.digest,
    signKey: params.key,
  };
}
