import type { Interceptor } from "@connectrpc/connect";
import { authorizedFetch } from "./authorized-fetch.js";
import { DEFAULT_RETRY_POLICY } from "./backoff.js";
import { bearerInterceptor } from "./bearer-interceptor.js";
import { resolveCredentials, type CredentialsProvider } from "./credentials.js";
import { TokenError } from "./errors.js";
import { requestToken, type RequestTokenDeps } from "./request-token.js";
import { abortable, systemScheduler, type TimerHandle } from "./scheduler.js";
import { cacheEntry, cacheKey, DEFAULT_REFRESH_MARGIN_MS, type CacheEntry } from "./token-cache.js";
import type { GrantRequest } from "./token-endpoint.js";
import { endpointFor, type TokenClientOptions } from "./token-client-options.js";
import type { TokenOptions, TokenSource } from "./token-source.js";

/** A token with its facts, for callers that show or schedule around them (a CLI). */
export interface TokenDetails {
  accessToken: string;
  /** Expiry in milliseconds since the epoch. */
  expiresAt: number;
  /** The scopes granted, when the server said. */
  scope: string | undefined;
}

/**
 * Gets access tokens with the client credentials grant and keeps them: one cached token per
 * scope and audience, renewed before expiry, one request however many callers wait for it,
 * retries with backoff for failures that can pass, none for ones that cannot.
 */
export class TokenClient implements TokenSource {
  readonly #deps: RequestTokenDeps;
  readonly #defaults: { scope: string | undefined; audiences: string[] };
  readonly #marginMs: number;
  readonly #background: boolean;
  readonly #fetch: typeof fetch | undefined;
  readonly #entries = new Map<string, { entry: CacheEntry; timer?: TimerHandle }>();
  readonly #inflight = new Map<string, Promise<CacheEntry>>();
  readonly #closed = new AbortController();

  constructor(options: TokenClientOptions = {}) {
    const credentials: CredentialsProvider = resolveCredentials({ clientId: options.clientId, clientSecret: options.clientSecret, env: options.env });
    this.#deps = {
      endpoint: options.endpoint ?? endpointFor(options),
      credentials,
      policy: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      timeoutMs: options.timeoutMs ?? 10_000,
      scheduler: options.scheduler ?? systemScheduler,
      random: options.random ?? Math.random,
      metrics: options.metrics ?? {},
      logger: options.logger ?? {},
    };
    this.#defaults = { scope: options.scope, audiences: toArray(options.audience) };
    this.#marginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.#background = options.backgroundRefresh ?? false;
    this.#fetch = options.fetch;
  }

  /** A valid access token for the scope and audience asked (or the defaults). */
  async getToken(options: TokenOptions = {}): Promise<string> {
    return (await this.getTokenDetails(options)).accessToken;
  }

  /** Like getToken, with the token's expiry and granted scope. */
  async getTokenDetails(options: TokenOptions = {}): Promise<TokenDetails> {
    const request: GrantRequest = {
      scope: options.scope ?? this.#defaults.scope,
      audiences: options.audience === undefined ? this.#defaults.audiences : toArray(options.audience),
    };
    const key = cacheKey(request.scope, request.audiences);
    const now = this.#deps.scheduler.now();
    const cached = this.#entries.get(key)?.entry;
    let entry: CacheEntry;
    if (cached && now < cached.refreshAt) {
      this.#deps.metrics.cacheHit?.();
      entry = cached;
    } else if (cached && this.#background && now < cached.unusableAt) {
      // Stale while revalidate: the old token is still good for a while; renew behind it.
      this.#renewInBackground(key, request);
      entry = cached;
    } else {
      entry = await abortable(this.#renew(key, request), options.signal);
    }
    return { accessToken: entry.token.accessToken, expiresAt: entry.expiresAt, scope: entry.token.scope };
  }

  /** Forgets `token` wherever it is cached, or every token when none is given. */
  invalidate(token?: string): void {
    for (const [key, slot] of this.#entries) {
      if (token !== undefined && slot.entry.token.accessToken !== token) continue;
      if (slot.timer !== undefined) this.#deps.scheduler.clearTimeout(slot.timer);
      this.#entries.delete(key);
    }
  }

  /** fetch with the token attached; a 401 invalidates it and retries once (see authorizedFetch). */
  fetch(input: string | URL | Request, init?: RequestInit, options: Omit<TokenOptions, "signal"> = {}): Promise<Response> {
    return authorizedFetch(this, input, init, { ...options, ...(this.#fetch ? { fetch: this.#fetch } : {}) });
  }

  /** A Connect/gRPC client interceptor that attaches this client's tokens (see bearerInterceptor). */
  interceptor(options: Omit<TokenOptions, "signal"> = {}): Interceptor {
    return bearerInterceptor(this, options);
  }

  /** Stops background renewals, fails waiting callers with `aborted`, closes connections. */
  async close(): Promise<void> {
    this.#closed.abort(new TokenError("aborted", "the token client was closed"));
    this.invalidate();
    await this.#deps.endpoint.close?.();
  }

  /** Single flight: while a request for `key` runs, everyone shares it and its outcome. */
  #renew(key: string, request: GrantRequest): Promise<CacheEntry> {
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = requestToken(this.#deps, request, this.#closed.signal)
      .then(({ token, sentAt }) => {
        const entry = cacheEntry(token, sentAt, this.#marginMs);
        this.#store(key, request, entry);
        return entry;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  #renewInBackground(key: string, request: GrantRequest): void {
    if (this.#inflight.has(key)) return; // already renewing; its failure is logged once, below
    this.#renew(key, request).catch((err: unknown) => {
      // Callers still hold a usable token; the failure is logged and the next call tries again.
      this.#deps.logger.warn?.({ code: (err as TokenError).code }, "background token renewal failed");
    });
  }

  #store(key: string, request: GrantRequest, entry: CacheEntry): void {
    if (this.#closed.signal.aborted) return;
    const old = this.#entries.get(key);
    if (old?.timer !== undefined) this.#deps.scheduler.clearTimeout(old.timer);
    const slot: { entry: CacheEntry; timer?: TimerHandle } = { entry };
    if (this.#background) {
      const wait = Math.max(0, entry.refreshAt - this.#deps.scheduler.now());
      slot.timer = this.#deps.scheduler.setTimeout(() => this.#renewInBackground(key, request), wait, { background: true });
    }
    this.#entries.set(key, slot);
  }
}

function toArray(audience: string | string[] | undefined): string[] {
  return audience === undefined ? [] : typeof audience === "string" ? [audience] : audience;
}
