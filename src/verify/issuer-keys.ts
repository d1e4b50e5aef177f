import { createLocalJWKSet, errors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from "jose";
import { KeySetUnavailableError } from "./errors.js";

/** Where and how an IssuerKeys finds and caches the issuer's signing keys. */
export interface IssuerKeysOptions {
  /** The `iss` of the tokens; its RFC 8414 metadata names the JWKS. */
  issuer: string;
  /** The JWKS URL; skips discovery (for when the issuer URL is not reachable from here). */
  jwksUri?: string | undefined;
  /** The metadata URL, when not at {issuer}/.well-known/oauth-authorization-server. */
  metadataUrl?: string | undefined;
  /** Keys are refetched when older than this. Default 10 minutes. */
  maxAgeMs?: number | undefined;
  /**
   * Keys are fetched at most this often after an attempt: on an unknown `kid`, so junk tokens
   * cannot hammer the issuer, and while the first fetch keeps failing, so a down issuer is not
   * asked once per request. Default 30 s.
   */
  refetchCooldownMs?: number | undefined;
  /** Timeout of each metadata or JWKS request. Default 5 s. */
  timeoutMs?: number | undefined;
  fetch?: typeof fetch | undefined;
  /** Milliseconds since the epoch; tests pass a fake. */
  clock?: (() => number) | undefined;
}

interface Loaded {
  resolve: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
}

/**
 * The issuer's JWKS, discovered from its metadata, cached, and refetched when a token names
 * a key we do not have (the issuer rotated) at most once per cooldown. `getKey` has the
 * shape jose's jwtVerify takes.
 */
export class IssuerKeys {
  readonly #o: { [K in Exclude<keyof IssuerKeysOptions, "jwksUri" | "metadataUrl">]-?: NonNullable<IssuerKeysOptions[K]> } & Pick<
    IssuerKeysOptions,
    "jwksUri" | "metadataUrl"
  >;
  #loaded: Loaded | undefined;
  #loading: Promise<Loaded> | undefined;
  #lastAttempt = -Infinity;
  /** Why the last fetch failed, repeated to callers while the cooldown runs and no keys are held. */
  #lastFailure: Error | undefined;
  #jwksUri: string | undefined;

  constructor(options: IssuerKeysOptions) {
    // Field by field rather than spread over the defaults: an option given as undefined means the default.
    this.#o = {
      issuer: options.issuer,
      jwksUri: options.jwksUri,
      metadataUrl: options.metadataUrl,
      maxAgeMs: options.maxAgeMs ?? 600_000,
      refetchCooldownMs: options.refetchCooldownMs ?? 30_000,
      timeoutMs: options.timeoutMs ?? 5_000,
      fetch: options.fetch ?? fetch,
      clock: options.clock ?? Date.now,
    };
    this.#jwksUri = options.jwksUri;
  }

  /**
   * Finds the key for a token's header; throws jose's JWKSNoMatchingKey, or
   * KeySetUnavailableError (with retryAfterMs) when no keys could be fetched.
   */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const now = this.#o.clock();
    const coolingDown = now - this.#lastAttempt < this.#o.refetchCooldownMs;
    let loaded = this.#loaded;
    if (!loaded) {
      // The first fetch is limited like any refetch: one at a time (joined while it runs), and
      // after a failure not again before the cooldown ends, however many tokens arrive.
      if (coolingDown && !this.#loading && this.#lastFailure) throw this.#unavailable(this.#lastFailure, now);
      loaded = await this.#load();
    } else if (now - loaded.fetchedAt > this.#o.maxAgeMs && !coolingDown) {
      // Old keys stay usable when a routine refresh fails; only having none at all is fatal.
      const held = loaded;
      loaded = await this.#load().catch(() => held);
    }
    try {
      return await loaded.resolve(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || now - this.#lastAttempt < this.#o.refetchCooldownMs) throw err;
      return (await this.#load()).resolve(header, token);
    }
  };

  /** One fetch at a time; everyone waiting shares it. A failure is remembered for the cooldown. */
  #load(): Promise<Loaded> {
    this.#loading ??= this.#fetchKeys()
      .then(
        (loaded) => {
          this.#lastFailure = undefined;
          return loaded;
        },
        (err: unknown) => {
          const failure = err instanceof Error ? err : new Error(String(err));
          this.#lastFailure = failure;
          throw this.#unavailable(failure, this.#o.clock());
        },
      )
      .finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  /** The failure as a KeySetUnavailableError that says when the next fetch may happen. */
  #unavailable(failure: Error, now: number): KeySetUnavailableError {
    const retryAfterMs = Math.max(0, this.#lastAttempt + this.#o.refetchCooldownMs - now);
    const message =
      failure instanceof KeySetUnavailableError ? failure.message : `The issuer's keys could not be loaded: ${failure.message}`;
    return new KeySetUnavailableError(message, {
      cause: failure instanceof KeySetUnavailableError ? failure.cause : failure,
      retryAfterMs,
    });
  }

  async #fetchKeys(): Promise<Loaded> {
    this.#lastAttempt = this.#o.clock();
    this.#jwksUri ??= await this.#discover();
    const jwksUri = this.#jwksUri;
    const jwks = (await this.#getJson(jwksUri, "JWKS")) as JSONWebKeySet;
    if (!Array.isArray(jwks?.keys)) throw new KeySetUnavailableError(`The JWKS at ${jwksUri} has no "keys" array.`);
    this.#loaded = { resolve: createLocalJWKSet(jwks), fetchedAt: this.#o.clock() };
    return this.#loaded;
  }

  /** RFC 8414 §3.3: the metadata's issuer must be exactly the one we expect. */
  async #discover(): Promise<string> {
    const url = this.#o.metadataUrl ?? `${this.#o.issuer.replace(/\/+$/, "")}/.well-known/oauth-authorization-server`;
    const meta = (await this.#getJson(url, "metadata")) as { issuer?: unknown; jwks_uri?: unknown };
    if (meta?.issuer !== this.#o.issuer) {
      throw new KeySetUnavailableError(`The metadata at ${url} is for issuer ${JSON.stringify(meta?.issuer)}, not ${this.#o.issuer}.`);
    }
    if (typeof meta.jwks_uri !== "string") throw new KeySetUnavailableError(`The metadata at ${url} has no jwks_uri.`);
    return meta.jwks_uri;
  }

  async #getJson(url: string, what: string): Promise<unknown> {
    let res: Response;
    try {
      res = await this.#o.fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(this.#o.timeoutMs) });
    } catch (err) {
      throw new KeySetUnavailableError(`Could not fetch the issuer's ${what} from ${url}: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) throw new KeySetUnavailableError(`The issuer's ${what} at ${url} answered HTTP ${res.status}.`);
    return res.json().catch(() => {
      throw new KeySetUnavailableError(`The issuer's ${what} at ${url} is not JSON.`);
    });
  }
}
