import type { JWK } from "jose";
import type { RetryPolicy } from "./backoff.js";
import type { LabelledOption } from "./client-authentication.js";
import { ClientConfigError } from "./errors.js";
import { grpcTokenEndpoint } from "./grpc-token-endpoint.js";
import { httpTokenEndpoint } from "./http-token-endpoint.js";
import type { TokenLogger, TokenMetrics } from "./metrics.js";
import type { Scheduler } from "./scheduler.js";
import { serverBaseUrl } from "./server-url.js";
import type { TokenEndpoint } from "./token-endpoint.js";

/** How a TokenClient reaches the token service and manages tokens; only `server` is usually needed. */
export interface TokenClientOptions {
  /** Tessera's base URL with its scheme, e.g. http://localhost:8080 (no credentials in it). Default: TESSERA_SERVER. */
  server?: string | undefined;
  /** "http" (POST /oauth/token, the default) or "grpc" (TokenService.IssueToken). */
  transport?: "http" | "grpc" | undefined;
  /** A custom token endpoint (a configured gRPC transport, a test fake); replaces server/transport. */
  endpoint?: TokenEndpoint | undefined;
  /**
   * The client's id and secret. Default: CLIENT_ID, with CLIENT_SECRET or CLIENT_SECRET_FILE
   * (or CLIENT_KEY_FILE or CLIENT_ASSERTION_FILE: one of the four).
   */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /**
   * Authenticate with this private key instead of a secret (private_key_jwt, RFC 7523): a JWK
   * (an object or its JSON) or PEM text, of an EC P-256, Ed25519 or RSA key. A fresh assertion,
   * signed for Tessera's issuer, goes with each token request.
   */
  privateKey?: string | JWK | undefined;
  /** Like privateKey, from a file (a JWK or PEM), read for each request: a key rotated on disk is used at once. Default: CLIENT_KEY_FILE. */
  privateKeyFile?: string | undefined;
  /** The `kid` of the assertions. Default: CLIENT_KEY_ID, else the JWK's kid, else the key's RFC 7638 thumbprint. */
  keyId?: string | undefined;
  /**
   * Authenticate with a token the platform gives the workload (a Kubernetes projected
   * service-account token, a SPIFFE JWT-SVID) in this file, read for each request because the
   * platform rotates it. Needs clientId. Default: CLIENT_ASSERTION_FILE.
   */
  assertionFile?: string | undefined;
  /**
   * Tessera's issuer identifier, the audience of the assertions a private key signs. Default:
   * TESSERA_ISSUER, else the `issuer` of the server's RFC 8414 metadata, which must then be the
   * server's own address.
   */
  issuer?: string | undefined;
  /** Where to read CLIENT_*, TESSERA_SERVER and TESSERA_ISSUER; process.env by default. */
  env?: NodeJS.ProcessEnv | undefined;
  /** How messages name these options, for a program that takes them under its own names (a command line's flags). */
  optionLabels?: Partial<Record<LabelledOption, string>> | undefined;
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

/** Tessera's base URL from `server` or TESSERA_SERVER, checked; undefined when neither is given. */
export function serverFor(options: TokenClientOptions): string | undefined {
  const given = options.server ?? (options.env ?? process.env).TESSERA_SERVER;
  if (!given) return undefined;
  return serverBaseUrl(given, options.server !== undefined ? (options.optionLabels?.server ?? "the server option") : "TESSERA_SERVER");
}

/** The endpoint `options` describe: HTTP unless transport is "grpc", at `server` (see serverFor); throws ClientConfigError when there is none. */
export function endpointFor(options: TokenClientOptions, server: string | undefined): TokenEndpoint {
  if (server === undefined)
    throw new ClientConfigError("No token service: pass `server` (e.g. http://localhost:8080) or set TESSERA_SERVER.");
  if ((options.transport ?? "http") === "grpc") return grpcTokenEndpoint({ baseUrl: server });
  return httpTokenEndpoint({ tokenUrl: `${server}/oauth/token`, ...(options.fetch ? { fetch: options.fetch } : {}) });
}
