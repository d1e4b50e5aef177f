import type { ClientAuthentication } from "./client-authentication.js";
import type { ClientCredentials } from "./credentials.js";

/** What one token request asks for. */
export interface GrantRequest {
  /** Space-separated scopes; undefined asks for all the client's scopes. */
  scope: string | undefined;
  /** Requested audiences (RFC 8707 resources); empty asks for the client's default. */
  audiences: string[];
}

/** A token as the token service issued it. */
export interface IssuedToken {
  accessToken: string;
  /** Lifetime in seconds from when the request was sent. */
  expiresIn: number;
  /** The scopes granted, when the server said. */
  scope: string | undefined;
}

/**
 * One round trip to the token service over one transport (the HTTP form endpoint or gRPC
 * IssueToken). Implementations throw only TokenError for failures of the service or network,
 * so the retry loop above them behaves the same whichever door is used.
 */
export interface TokenEndpoint {
  /** "http" or "grpc"; a label for metrics and logs. */
  readonly transport: string;
  /** Where requests go, for error messages; never contains credentials. */
  readonly target: string;
  /** Sends one request, authenticated with `credentials` (a secret or an assertion); when `signal` aborts, rejects with the signal's reason. */
  issue(credentials: ClientAuthentication, request: GrantRequest, signal: AbortSignal): Promise<IssuedToken>;
  /** Releases connections; optional. */
  close?(): Promise<void> | void;
}

/** `Basic` credentials with each part form-urlencoded first, as RFC 6749 Appendix B demands. */
export function basicAuthorization(credentials: ClientCredentials): string {
  const encode = (s: string) => new URLSearchParams({ x: s }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(credentials.clientId)}:${encode(credentials.revealSecret())}`).toString("base64")}`;
}
