import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { ClientAssertion, JWT_BEARER_ASSERTION_TYPE } from "./client-assertion.js";
import type { ClientAuthentication } from "./client-authentication.js";
import { TokenError } from "./errors.js";
import { parseRetryAfter } from "./retry-after.js";
import { refuseUrlCredentials } from "./server-url.js";
import { basicAuthorization, type GrantRequest, type IssuedToken, type TokenEndpoint } from "./token-endpoint.js";

/** Options for the gRPC token endpoint: a server URL, or a transport you configured (TLS, proxies); `now` dates retry-after. */
export type GrpcTokenEndpointOptions = ({ baseUrl: string } | { transport: Transport; target: string }) & { now?: () => number };

// Without an OAuth reason in ErrorInfo (a proxy answered), the gRPC code alone decides;
// UNAVAILABLE and RESOURCE_EXHAUSTED are the retryable ones.
const BY_CODE: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "temporarily_unavailable",
  [Code.ResourceExhausted]: "temporarily_unavailable",
  [Code.Internal]: "server_error",
  [Code.Unknown]: "server_error",
  [Code.DeadlineExceeded]: "timeout",
  [Code.Unauthenticated]: "invalid_client",
  [Code.PermissionDenied]: "unauthorized_client",
  [Code.InvalidArgument]: "invalid_request",
};

/**
 * `tessera.v1.TokenService/IssueToken` over gRPC (h2c for http://, TLS for https://). A
 * secret travels as Basic in the authorization metadata rather than in the message, so an
 * interceptor that logs messages never sees it. An assertion has no metadata form: it goes in
 * the client_assertion fields (it is good for one request and a minute at most).
 */
export function grpcTokenEndpoint(options: GrpcTokenEndpointOptions): TokenEndpoint {
  let sessions: Http2SessionManager | undefined;
  let transport: Transport;
  let target: string;
  if ("transport" in options) {
    transport = options.transport;
    target = options.target;
  } else {
    sessions = new Http2SessionManager(options.baseUrl);
    transport = createGrpcTransport({ baseUrl: options.baseUrl, sessionManager: sessions });
    refuseUrlCredentials(options.baseUrl, "baseUrl");
    target = options.baseUrl;
  }
  const rpc = createClient(TokenService, transport);
  const now = options.now ?? Date.now;
  return {
    transport: "grpc",
    target,
    async issue(credentials: ClientAuthentication, request: GrantRequest, signal: AbortSignal): Promise<IssuedToken> {
      const grant = { scope: request.scope ?? "", audience: request.audiences };
      try {
        const res =
          credentials instanceof ClientAssertion
            ? await rpc.issueToken(
                {
                  ...grant,
                  clientId: credentials.clientId,
                  clientAssertionType: JWT_BEARER_ASSERTION_TYPE,
                  clientAssertion: credentials.revealAssertion(),
                },
                { signal },
              )
            : await rpc.issueToken(grant, { headers: { authorization: basicAuthorization(credentials) }, signal });
        if (res.accessToken === "" || !(res.expiresIn > 0)) {
          throw new TokenError("invalid_response", "IssueToken answered without a token or lifetime", { target });
        }
        return { accessToken: res.accessToken, expiresIn: res.expiresIn, scope: res.scope === "" ? undefined : res.scope };
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (err instanceof TokenError) throw err;
        throw fromConnectError(ConnectError.from(err), target, credentials, now());
      }
    },
    close() {
      sessions?.abort();
    },
  };
}

/**
 * The OAuth code rides in a google.rpc.ErrorInfo detail's reason (how Tessera maps errors),
 * and the server's wait in a `retry-after` trailer, as over HTTP. A call that got no answer
 * at all (connection refused, reset, closed or sent GOAWAY mid-call) is a network_error, the
 * code the HTTP endpoint gives the same failures, so both transports retry them alike.
 */
function fromConnectError(err: ConnectError, target: string, credentials: ClientAuthentication, now: number): TokenError {
  const reason = err.findDetails(ErrorInfoSchema).find((d) => d.reason !== "")?.reason;
  const description = credentials.redact(err.rawMessage);
  if (reason === undefined && isConnectionFailure(err))
    return new TokenError("network_error", description, { target, status: Code[err.code] });
  const code = reason ?? BY_CODE[err.code] ?? "invalid_response";
  return new TokenError(code, description, {
    target,
    status: Code[err.code],
    retryAfterMs: parseRetryAfter(err.metadata.get("retry-after"), now),
  });
}

// connect-node reports a refused connection as UNAVAILABLE, a reset as ABORTED, and a socket
// closed or a GOAWAY in the middle of a call as CANCELED; the call's own signal is handled
// before this. No header or trailer came back: no gRPC server answered.
function isConnectionFailure(err: ConnectError): boolean {
  const answered = [...err.metadata.keys()].length > 0;
  return !answered && (err.code === Code.Unavailable || err.code === Code.Aborted || err.code === Code.Canceled);
}
