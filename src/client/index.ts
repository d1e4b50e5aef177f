/**
 * tessera-oauth/client: get access tokens from Tessera and use them, over HTTP or gRPC.
 *
 *   const tokens = new TokenClient({ server: "http://localhost:8080", scope: "read" });
 *   const res = await tokens.fetch("https://api.example.com/api/resource");
 */
export { TokenClient, type TokenDetails } from "./token-client.js";
export type { TokenClientOptions } from "./token-client-options.js";
export type { TokenOptions, TokenSource } from "./token-source.js";
export { TokenError, ClientConfigError, type TokenErrorCode, type TokenErrorContext } from "./errors.js";
export { ClientCredentials, resolveCredentials, type CredentialsProvider, type CredentialsSource } from "./credentials.js";
export { ClientAssertion, JWT_BEARER_ASSERTION_TYPE, type AssertionKind } from "./client-assertion.js";
export {
  resolveClientAuthentication,
  type ClientAuthentication,
  type ClientAuthenticationProvider,
  type ClientAuthenticationSource,
  type ClientAuthMethod,
  type LabelledOption,
} from "./client-authentication.js";
export { parseClientKey, jwkThumbprint, CLIENT_ASSERTION_ALGS, type ClientKey, type ClientAssertionAlg } from "./client-key.js";
export { signClientAssertion, ASSERTION_LIFETIME_SECONDS, CLIENT_AUTHENTICATION_JWT_TYPE, type AssertionInput } from "./private-key-jwt.js";
export { authorizedFetch } from "./authorized-fetch.js";
export { bearerInterceptor } from "./bearer-interceptor.js";
export { DEFAULT_RETRY_POLICY, backoffDelay, type RetryPolicy } from "./backoff.js";
export { DEFAULT_REFRESH_MARGIN_MS } from "./token-cache.js";
export type { TokenEndpoint, GrantRequest, IssuedToken } from "./token-endpoint.js";
export { httpTokenEndpoint, type HttpTokenEndpointOptions } from "./http-token-endpoint.js";
export { grpcTokenEndpoint, type GrpcTokenEndpointOptions } from "./grpc-token-endpoint.js";
export type { TokenMetrics, TokenRequestEvent, TokenResultEvent, TokenRefreshFailedEvent, TokenLogger } from "./metrics.js";
export { TokenMetricsRecorder, type TokenMetricsSnapshot } from "./metrics-recorder.js";
export { LatencyHistogram, DEFAULT_LATENCY_BUCKETS_MS } from "./latency-histogram.js";
export { prometheusTokenMetrics } from "./prometheus-metrics.js";
export { systemScheduler, type Scheduler, type TimerHandle } from "./scheduler.js";
