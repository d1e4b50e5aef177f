import type { RetryPolicy } from "./backoff.js";
import { ClientConfigError } from "./errors.js";
import { grpcTokenEndpoint } from "./grpc-token-endpoint.js";
import { httpTokenEndpoint } from "./http-token-endpoint.js";
import { serverBaseUrl } from "./server-url.js";
import type { TokenLogger, TokenMetrics } from "./metrics.js";
import type { Scheduler } from "./scheduler.js";
import type { TokenEndpoint } from "./token-endpoint.js";

/** How a TokenClient reaches the token service and manages tokens; only `server` is usually needed. */
export interface TokenClientOptions {
  /** Tessera's base URL with its scheme, e.g. http://localhost:8080 (no credentials in it). Default: TESSERA_SERVER. */
  server?: string | undefined;
  /** "http" (POST /oauth/token, the default) or "grpc" (TokenService.IssueToken). */
  transport?: "http" | "grpc" | undefined;
  /** A custom token endpoint (a configured gRPC transport, a test fake); replaces server/transport. */
  endpoint?: TokenEndpoint | undefined;
  /** The client's id and secret. Default: CLIENT_ID and CLIENT_SECRET or CLIENT_SECRET_FILE. */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** Where to read CLIENT_* and TESSERA_SERVER; process.env by default. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Default scope for getToken, space-separated. Default: all the client's scopes. */
  scope?: string | undefined;
  /** Default audience(s) for getToken. Default: the client's own. */
  audience?: string | string[] | undefined;
  /** Renew this long before expiry, capped at half the token's lifetime. Default 5 minutes. */
  refreshMarginMs?: number | undefined;
  /** Renew in the background at the refresh point, so callers never wait. Default false. */
  backgroundRefresh?: boolean | undefined;
  /** Timeout of each request to the token service, cut to what is left of retry.maxElapsedMs. Default 10 s. */
  timeoutMs?: number | undefined;
  /**
   * Retry budget of a getToken that has no usable token; see DEFAULT_RETRY_POLICY. A refresh
   * while the cached token is still valid is one request, tried again in the background.
   */
  retry?: Partial<RetryPolicy> | undefined;
  metrics?: TokenMetrics | undefined;
  logger?: TokenLogger | undefined;
  /** fetch for the HTTP token endpoint and for TokenClient.fetch. */
  fetch?: typeof fetch | undefined;
  /** Clock and timers; tests pass a fake. */
  scheduler?: Scheduler | undefined;
  /** Source of jitter in [0, 1); Math.random by default. */
  random?: (() => number) | undefined;
}

/** The endpoint `options` describe: HTTP unless transport is "grpc", at `server` or TESSERA_SERVER; throws ClientConfigError for a bad URL. */
export function endpointFor(options: TokenClientOptions): TokenEndpoint {
  const given = options.server ?? (options.env ?? process.env).TESSERA_SERVER;
  if (!given) throw new ClientConfigError("No token service: pass `server` (e.g. http://localhost:8080) or set TESSERA_SERVER.");
  const server = serverBaseUrl(given, options.server !== undefined ? "the server option" : "TESSERA_SERVER");
  if ((options.transport ?? "http") === "grpc") return grpcTokenEndpoint({ baseUrl: server });
  return httpTokenEndpoint({ tokenUrl: `${server}/oauth/token`, ...(options.fetch ? { fetch: options.fetch } : {}) });
}
