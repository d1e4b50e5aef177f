import type { Interceptor } from "@connectrpc/connect";
import { authorizedFetch } from "./authorized-fetch.js";
import { backoffDelay, DEFAULT_RETRY_POLICY } from "./backoff.js";
import { bearerInterceptor } from "./bearer-interceptor.js";
import { resolveClientAuthentication } from "./client-authentication.js";
import { abortedError, errorForCaller, TokenError } from "./errors.js";
import { type RequestTokenDeps, requestToken } from "./request-token.js";
import { abortable, systemScheduler, type TimerHandle } from "./scheduler.js";
import { type CacheEntry, cacheEntry, cacheKey, DEFAULT_REFRESH_MARGIN_MS } from "./token-cache.js";
import { endpointFor, serverFor, type TokenClientOptions } from "./token-client-options.js";
import type { GrantRequest } from "./token-endpoint.js";
import type { TokenOptions, TokenSource } from "./token-source.js";

/** A token with its facts, for callers that show or schedule around them (a CLI). */
export interface TokenDetails {
  accessToken: string;
  /** Expiry in milliseconds since the epoch. */
  expiresAt: number;
  /** The scopes granted, when the server said. */
  scope: string | undefined;
}

/** A cached token and the background timer working on it. */
interface Slot {
  entry: CacheEntry;
  /** The refresh point (backgroundRefresh), or the next try after a failed refresh. */
  timer?: TimerHandle;
  /** Refreshes of this token that failed in a row. */
  failures: number;
}

/**
 * Gets access tokens with the client credentials grant and keeps them: one cached token per
 * scope and audience, renewed before expiry, one request however many callers wait for it,
 * retries with backoff for failures that can pass, none for ones that cannot. A refresh that
 * fails while the cached token is still valid does not fail callers: they get the cached
 * token until it expires, and the refresh is retried in the background.
 */
export class TokenClient implements TokenSource, AsyncDisposable {
  readonly #deps: RequestTokenDeps;
  /** A refresh is one request: while the cached token is valid, it is retried later, not now. */
  readonly #refreshDeps: RequestTokenDeps;
  readonly #defaults: { scope: string | undefined; audiences: string[] };
  readonly #marginMs: number;
  readonly #background: boolean;
  readonly #fetch: typeof fetch | undefined;
  readonly #slots = new Map<string, Slot>();
  /** Renewals without a usable token: callers wait for them, with every retry. */
  readonly #renewing = new Map<string, Promise<CacheEntry>>();
  /** Refreshes of a still-valid token: undefined when they failed. */
  readonly #refreshing = new Map<string, Promise<CacheEntry | undefined>>();
  readonly #closed = new AbortController();

  constructor(options: TokenClientOptions = {}) {
    const scheduler = options.scheduler ?? systemScheduler;
    const server = serverFor(options);
    const authentication = resolveClientAuthentication({ ...options, server, now: () => scheduler.now() });
    this.#deps = {
      endpoint: options.endpoint ?? endpointFor(options, server),
      authentication,
      policy: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      timeoutMs: options.timeoutMs ?? 10_000,
      scheduler,
      random: options.random ?? Math.random,
      metrics: options.metrics ?? {},
      logger: options.logger ?? {},
    };
    this.#refreshDeps = { ...this.#deps, policy: { ...this.#deps.policy, maxAttempts: 1 } };
    this.#defaults = { scope: options.scope, audiences: toArray(options.audience) };
    this.#marginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.#background = options.backgroundRefresh ?? false;
    this.#fetch = options.fetch;
  }

  /** A valid access token for the scope and audience asked (or the defaults). */
  async getToken(options: TokenOptions = {}): Promise<string> {
    return (await this.getTokenDetails(options)).accessToken;
  }

  /**
   * Like getToken, with the token's expiry and granted scope. Rejects with a TokenError of its
   * own for each caller (the cause is the error shared by everyone who waited for the same
   * request); `aborted` when the caller's signal fires or the client is closed. Sends nothing
   * when the signal has already fired.
   */
  async getTokenDetails(options: TokenOptions = {}): Promise<TokenDetails> {
    const { signal } = options;
    if (this.#closed.signal.aborted) throw abortedError("close");
    if (signal?.aborted) throw abortedError("caller", signal.reason);
    const request: GrantRequest = {
      scope: options.scope ?? this.#defaults.scope,
      audiences: options.audience === undefined ? this.#defaults.audiences : toArray(options.audience),
    };
    const key = cacheKey(request.scope, request.audiences);
    let entry = this.#slots.get(key)?.entry;
    // The common case, a fresh cached token, costs no extra promise.
    if (entry && this.#deps.scheduler.now() < entry.refreshAt) {
      this.#deps.metrics.cacheHit?.();
      return { accessToken: entry.token.accessToken, expiresAt: entry.expiresAt, scope: entry.token.scope };
    }
    try {
      entry = await this.#usableEntry(key, request, signal);
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw abortedError("caller", err);
      throw err instanceof TokenError ? errorForCaller(err) : err;
    }
    return { accessToken: entry.token.accessToken, expiresAt: entry.expiresAt, scope: entry.token.scope };
  }

  /** Forgets `token` wherever it is cached, or every token when none is given. */
  invalidate(token?: string): void {
    for (const [key, slot] of this.#slots) {
      if (token !== undefined && slot.entry.token.accessToken !== token) continue;
      if (slot.timer !== undefined) this.#deps.scheduler.clearTimeout(slot.timer);
      this.#slots.delete(key);
    }
  }

  /**
   * fetch with the token attached; a 401 invalidates it and retries once, unless the request
   * body cannot be sent twice (a stream): then the 401 is returned (see authorizedFetch).
   */
  fetch(input: string | URL | Request, init?: RequestInit, options: Omit<TokenOptions, "signal"> = {}): Promise<Response> {
    return authorizedFetch(this, input, init, { ...options, ...(this.#fetch ? { fetch: this.#fetch } : {}) });
  }

  /** A Connect/gRPC client interceptor that attaches this client's tokens (see bearerInterceptor). */
  interceptor(options: Omit<TokenOptions, "signal"> = {}): Interceptor {
    return bearerInterceptor(this, options);
  }

  /** Stops background renewals, fails waiting callers with `aborted`, closes connections. */
  async close(): Promise<void> {
    this.#closed.abort(abortedError("close"));
    this.invalidate();
    await this.#deps.endpoint.close?.();
  }

  /** `await using tokens = new TokenClient(...)` closes the client at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** For a token past its refresh point: in the refresh window a refreshed one, or else the cached one; otherwise a new one. */
  async #usableEntry(key: string, request: GrantRequest, signal: AbortSignal | undefined): Promise<CacheEntry> {
    const { scheduler, metrics } = this.#deps;
    const slot = this.#slots.get(key);
    if (slot && scheduler.now() < slot.entry.unusableAt) {
      // The refresh window: the cached token is still good, so a failed refresh must not hide
      // it. Only the first refresh is waited for (unless refreshing in the background); once
      // one has failed, callers get the cached token while the next try waits its backoff.
      if (!this.#background && slot.failures === 0) {
        const fresh = await abortable(this.#refresh(key, request), signal);
        if (fresh) return fresh;
      } else if (slot.timer === undefined) {
        void this.#refresh(key, request);
      }
      // Still cached (not invalidated meanwhile) and still valid after the wait?
      if (this.#slots.get(key) === slot && scheduler.now() < slot.entry.unusableAt) {
        metrics.cacheHit?.();
        return slot.entry;
      }
    }
    // No usable token: wait for a new one with the whole retry budget. A refresh that was
    // already under way when the token ran out is one request: if it fails, renew.
    const refreshing = this.#refreshing.get(key);
    if (refreshing) {
      const fresh = await abortable(refreshing, signal);
      if (fresh && scheduler.now() < fresh.unusableAt) return fresh;
    }
    return abortable(this.#renew(key, request), signal);
  }

  /** Single flight: while a renewal for `key` runs, everyone shares it and its outcome. */
  #renew(key: string, request: GrantRequest): Promise<CacheEntry> {
    const running = this.#renewing.get(key);
    if (running) return running;
    const p = requestToken(this.#deps, request, this.#closed.signal)
      .then(({ token, sentAt }) => this.#store(key, request, cacheEntry(token, sentAt, this.#marginMs)))
      .finally(() => this.#renewing.delete(key));
    this.#renewing.set(key, p);
    return p;
  }

  /** One request for a token that is still valid; never rejects: a failure is reported and retried later. */
  #refresh(key: string, request: GrantRequest): Promise<CacheEntry | undefined> {
    const running = this.#refreshing.get(key);
    if (running) return running;
    const p = requestToken(this.#refreshDeps, request, this.#closed.signal)
      .then(({ token, sentAt }) => this.#store(key, request, cacheEntry(token, sentAt, this.#marginMs)))
      .catch((err: unknown) => {
        this.#refreshFailed(key, request, err);
        return undefined;
      })
      .finally(() => this.#refreshing.delete(key));
    this.#refreshing.set(key, p);
    return p;
  }

  /** Reports a failed refresh and schedules the next one with backoff, in the background. */
  #refreshFailed(key: string, request: GrantRequest, err: unknown): void {
    const slot = this.#slots.get(key);
    if (this.#closed.signal.aborted || !slot) return;
    const { scheduler, endpoint } = this.#deps;
    slot.failures++;
    const code = err instanceof TokenError ? err.code : "unexpected";
    const retryInMs = backoffDelay(
      slot.failures,
      this.#deps.policy,
      this.#deps.random,
      err instanceof TokenError ? err.context.retryAfterMs : undefined,
    );
    if (slot.timer !== undefined) scheduler.clearTimeout(slot.timer);
    slot.timer = scheduler.setTimeout(
      () => {
        slot.timer = undefined;
        if (this.#slots.get(key) === slot && scheduler.now() < slot.entry.unusableAt) void this.#refresh(key, request);
      },
      retryInMs,
      { background: true },
    );
    const expiresInMs = slot.entry.expiresAt - scheduler.now();
    this.#deps.metrics.refreshFailed?.({ transport: endpoint.transport, code, failures: slot.failures, expiresInMs, retryInMs });
    this.#deps.logger.warn?.(
      {
        scope: request.scope,
        audience: request.audiences,
        transport: endpoint.transport,
        code,
        ...(err instanceof TokenError ? {} : { error: String(err) }),
        failures: slot.failures,
        token_expires_in_ms: expiresInMs,
        retry_in_ms: retryInMs,
      },
      "token refresh failed; the cached token is used until it expires",
    );
  }

  #store(key: string, request: GrantRequest, entry: CacheEntry): CacheEntry {
    if (this.#closed.signal.aborted) return entry;
    const old = this.#slots.get(key);
    if (old?.timer !== undefined) this.#deps.scheduler.clearTimeout(old.timer);
    const slot: Slot = { entry, failures: 0 };
    if (this.#background) {
      const wait = Math.max(0, entry.refreshAt - this.#deps.scheduler.now());
      // Nobody awaits this timer: it must not keep the process alive.
      slot.timer = this.#deps.scheduler.setTimeout(
        () => {
          slot.timer = undefined;
          if (this.#slots.get(key) === slot) void this.#refresh(key, request);
        },
        wait,
        { background: true },
      );
    }
    this.#slots.set(key, slot);
    return entry;
  }
}

function toArray(audience: string | string[] | undefined): string[] {
  return audience === undefined ? [] : typeof audience === "string" ? [audience] : audience;
}
