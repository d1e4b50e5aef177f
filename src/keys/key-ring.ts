import { createPrivateKey, createPublicKey, type JsonWebKey, sign } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { KeyRetirement, PublicJwk, TokenSigner } from "../core/ports/signing-keys.js";
import type { AuditEvent, SigningKeyRecord, Storage } from "../core/ports/storage.js";
import type { SigningAlg } from "../core/signing-algs.js";
import { generatePrivateKey, signParams } from "./algorithms.js";
import { isWrapped, type Kek, unwrapKey, wrapKey, wrappedUnder } from "./key-encryption.js";
import { type KeyPolicy, planKeys, type RotationRequest } from "./key-lifecycle.js";
import { notePlaintextToPurge, purgePlaintextKeys } from "./plaintext-purge.js";
import { jwkThumbprint } from "./thumbprint.js";

interface ActiveKey {
  kid: string;
  alg: SigningAlg;
  headerB64: string;
  digest: string | null;
  signKey: ReturnType<typeof signParams>["key"];
}

/** Builds a storable record for a fresh key of `alg`, wrapped under `kek` when one is given. */
export function newSigningKeyRecord(alg: SigningAlg, status: "current" | "next", now: number, kek?: Kek): SigningKeyRecord {
  const priv = generatePrivateKey(alg);
  const pub = createPublicKey(priv).export({ format: "jwk" });
  const kid = jwkThumbprint(pub);
  const privateJwk = JSON.stringify(priv.export({ format: "jwk" }));
  return {
    kid,
    alg,
    privateKey: kek ? wrapKey(privateJwk, kid, kek) : privateJwk,
    publicJwk: JSON.stringify({ ...pub, kid, alg, use: "sig" }),
    status,
    createTime: now,
    activateTime: status === "current" ? now : null,
    retireTime: null,
  };
}

/** Options for opening the key ring. */
export interface KeyRingOptions {
  policy: KeyPolicy;
  clock: Clock;
  /** Key-encryption key; without one, private keys are stored unencrypted. */
  kek?: Kek | undefined;
}

/**
 * The signing keys: signs access tokens with the current key and publishes the JWKS. Keys live
 * in storage, so every process on one database signs with the same key and publishes the
 * same set; `reload` picks up what another process changed.
 */
export class KeyRing implements TokenSigner, KeyRetirement {
  #active!: ActiveKey;
  #jwks: { keys: PublicJwk[] } = { keys: [] };
  #records: SigningKeyRecord[] = [];
  #retired = new Map<string, number>();

  private constructor(
    private readonly storage: Storage,
    private readonly options: KeyRingOptions,
  ) {}

  /** Loads the keys, creating, rotating or wrapping them as the policy says; refuses a missing or wrong KEK. */
  static async open(storage: Storage, options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(storage, options);
    await ring.maintain();
    return ring;
  }

  /**
   * Applies the key schedule now (scheduled rotation, next key, removal of expired retired
   * keys, wrapping plain keys once a KEK is configured), then reloads. Returns whether the
   * signing key changed.
   */
  async maintain(request?: RotationRequest, audit?: (newCurrent: string, withdrawn: readonly string[]) => AuditEvent): Promise<boolean> {
    const { policy, clock, kek } = this.options;
    const now = clock();
    if (kek && (await this.storage.listSigningKeys()).some((k) => !isWrapped(k.privateKey))) {
      await notePlaintextToPurge(this.storage);
    }
    const { rotated, wrapped } = await this.storage.updateSigningKeys(
      (keys) => {
        // Fail before changing anything when the keys cannot be read with this KEK.
        for (const k of keys) if (k.status === "current") unwrapKey(k.privateKey, k.kid, kek);
        const plan = planKeys(keys, now, policy, (alg, status, t) => newSigningKeyRecord(alg, status, t, kek), request);
        let wrapped = 0;
        if (kek) {
          const removed = new Set(plan.remove);
          const planned = new Set(plan.upsert.map((k) => k.kid));
          for (const k of keys) {
            if (!removed.has(k.kid) && !planned.has(k.kid) && !isWrapped(k.privateKey)) {
              plan.upsert.push({ ...k, privateKey: wrapKey(k.privateKey, k.kid, kek) });
              wrapped++;
            }
          }
          for (const k of plan.upsert) {
            if (!isWrapped(k.privateKey)) {
              k.privateKey = wrapKey(k.privateKey, k.kid, kek);
              wrapped++;
            }
          }
        }
        return { ...plan, result: { ...plan.result, wrapped } };
      },
      (r) => (r.rotated && audit ? audit(r.current.kid, r.withdrawn) : undefined),
    );
    if (kek) await purgePlaintextKeys(this.storage, wrapped > 0);
    await this.reload();
    return rotated;
  }

  /** Re-reads keys from storage (another process may have rotated them). */
  async reload(): Promise<void> {
    const records = await this.storage.listSigningKeys();
    const current = records.find((k) => k.status === "current");
    if (!current) throw new Error("no current signing key in storage");
    if (current.kid !== this.#active?.kid) this.#active = this.#activate(current);
    const now = this.options.clock();
    this.#records = records.filter((k) => k.status !== "retired" || (k.retireTime ?? 0) + this.options.policy.retiredPublishMs > now);
    this.#jwks = { keys: this.#records.map((k) => JSON.parse(k.publicJwk) as PublicJwk) };
    this.#retired = new Map(this.#records.flatMap((k) => (k.retireTime === null ? [] : [[k.kid, k.retireTime] as const])));
  }

  /** When the published key `kid` stopped signing (epoch ms); undefined while it signs, waits to, or is unknown. */
  retireTime(kid: string): number | undefined {
    return this.#retired.get(kid);
  }

  /** The algorithm and key id that new tokens are signed with. */
  get current(): { kid: string; alg: SigningAlg } {
    return { kid: this.#active.kid, alg: this.#active.alg };
  }

  /** The published JSON Web Key Set (public members only), never empty. */
  get jwks(): { keys: PublicJwk[] } {
    return this.#jwks;
  }

  /** The published keys' records (private parts included: never hand them to a transport). */
  get records(): readonly SigningKeyRecord[] {
    return this.#records;
  }

  /**
   * The id of the KEK the stored current or next key is encrypted under, when this process does
   * not hold it (another process re-encrypted the keys, `tessera keys rewrap`): it signs on with
   * the key it loaded, but cannot load a new one. Undefined when it can read every key.
   */
  get foreignKek(): string | undefined {
    const own = this.options.kek?.id;
    for (const k of this.#records) {
      const under = k.status === "retired" ? undefined : wrappedUnder(k.privateKey);
      if (under !== undefined && under !== own) return under;
    }
    return undefined;
  }

  /** The policy in force (for metadata and the JWKS cache lifetime). */
  get policy(): KeyPolicy {
    return this.options.policy;
  }

  /** Signs `claims` as a compact JWS with `typ: at+jwt` (RFC 9068 §2.1). */
  sign(claims: object): string {
    const a = this.#active;
    const input = `${a.headerB64}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    return `${input}.${sign(a.digest, Buffer.from(input), a.signKey).toString("base64url")}`;
  }

  #activate(k: SigningKeyRecord): ActiveKey {
    const alg = k.alg as SigningAlg;
    const jwk = JSON.parse(unwrapKey(k.privateKey, k.kid, this.options.kek)) as JsonWebKey;
    const params = signParams(alg, createPrivateKey({ key: jwk, format: "jwk" }));
    return {
      kid: k.kid,
      alg,
      headerB64: Buffer.from(JSON.stringify({ alg, typ: "at+jwt", kid: k.kid })).toString("base64url"),
      digest: params.digest,
      signKey: params.key,
    };
  }
}
