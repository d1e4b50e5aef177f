/**
 * tessera-oauth/client: get access tokens from Tessera and use them, over HTTP or gRPC.
 *
 *   const tokens = new TokenClient({ server: "http://localhost:8080", scope: "read" });
 *   const res = await tokens.fetch("https://api.example.com/api/resource");
 */

export { authorizedFetch } from "./authorized-fetch.js";
export { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./backoff.js";
export { bearerInterceptor } from "./bearer-interceptor.js";
export { type AssertionKind, ClientAssertion, JWT_BEARER_ASSERTION_TYPE } from "./client-assertion.js";
export {
  type ClientAuthentication,
  type ClientAuthenticationProvider,
  type ClientAuthenticationSource,
  type ClientAuthMethod,
  type LabelledOption,
  resolveClientAuthentication,
} from "./client-authentication.js";
export { CLIENT_ASSERTION_ALGS, type ClientAssertionAlg, type ClientKey, jwkThumbprint, parseClientKey } from "./client-key.js";
export { ClientCredentials, type CredentialsProvider, type CredentialsSource, resolveCredentials } from "./credentials.js";
export { ClientConfigError, TokenError, type TokenErrorCode, type TokenErrorContext } from "./errors.js";
export { type GrpcTokenEndpointOptions, grpcTokenEndpoint } from "./grpc-token-endpoint.js";
export { type HttpTokenEndpointOptions, httpTokenEndpoint } from "./http-token-endpoint.js";
export { DEFAULT_LATENCY_BUCKETS_MS, LatencyHistogram } from "./latency-histogram.js";
export type { TokenLogger, TokenMetrics, TokenRefreshFailedEvent, TokenRequestEvent, TokenResultEvent } from "./metrics.js";
export { TokenMetricsRecorder, type TokenMetricsSnapshot } from "./metrics-recorder.js";
export { ASSERTION_LIFETIME_SECONDS, type AssertionInput, CLIENT_AUTHENTICATION_JWT_TYPE, signClientAssertion } from "./private-key-jwt.js";
export { prometheusTokenMetrics } from "./prometheus-metrics.js";
export { type Scheduler, systemScheduler, type TimerHandle } from "./scheduler.js";
export { DEFAULT_REFRESH_MARGIN_MS } from "./token-cache.js";
export { TokenClient, type TokenDetails } from "./token-client.js";
export type { TokenClientOptions } from "./token-client-options.js";
export type { GrantRequest, IssuedToken, TokenEndpoint } from "./token-endpoint.js";
export type { TokenOptions, TokenSource } from "./token-source.js";
