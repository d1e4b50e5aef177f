import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { AdminError, OAuthError } from "../../core/errors.js";
import { StorageUnavailableError } from "../../core/ports/storage.js";
import { implementationAnsweredKey } from "./context.js";
import { refuseUnparsable } from "./unparsable-requests.js";

const OAUTH_CODES: Record<OAuthError["code"], Code> = {
  invalid_request: Code.InvalidArgument,
  invalid_client: Code.Unauthenticated,
  invalid_grant: Code.InvalidArgument,
  unauthorized_client: Code.PermissionDenied,
  unsupported_grant_type: Code.InvalidArgument,
  invalid_scope: Code.InvalidArgument,
  invalid_target: Code.InvalidArgument,
  insufficient_scope: Code.PermissionDenied,
  temporarily_unavailable: Code.ResourceExhausted,
  server_error: Code.Internal,
};

const ADMIN_CODES: Record<AdminError["code"], Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  failed_precondition: Code.FailedPrecondition,
  unavailable: Code.Unavailable,
};

/** The retry hint sent with UNAVAILABLE when the database is: seconds. */
const STORAGE_RETRY_AFTER_SECONDS = 5;

/**
 * The one place an error becomes a gRPC status. OAuth errors carry their code as the reason
 * of a google.rpc.ErrorInfo detail so stubs in any language can switch on it.
 */
export function toConnectError(err: unknown, domain: string, onUnexpected: (err: unknown) => void): ConnectError {
  if (err instanceof OAuthError) {
    const trailers = err.retryAfterSeconds === undefined ? undefined : { "retry-after": String(err.retryAfterSeconds) };
    // A revocation refused for now is UNAVAILABLE (RFC 7009 §2.2.1: 503), not a rate limit.
    const code = err.limit === "revocations" ? Code.Unavailable : OAUTH_CODES[err.code];
    return new ConnectError(err.description, code, trailers, [
      { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: err.code, domain }) },
    ]);
  }
  if (err instanceof StorageUnavailableError) {
    // Its own message names the database: logged, never sent. The trailer is the retry hint
    // clients (the SDK among them) wait for before trying again.
    return new ConnectError(
      "the database cannot be written right now (unreachable, disk full or read-only); retry later",
      Code.Unavailable,
      { "retry-after": String(STORAGE_RETRY_AFTER_SECONDS) },
      [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: "temporarily_unavailable", domain }) }],
    );
  }
  if (err instanceof AdminError) return new ConnectError(err.message, ADMIN_CODES[err.code]);
  if (err instanceof ConnectError && err.code !== Code.Unknown && err.code !== Code.Internal) return err;
  onUnexpected(err);
  return new ConnectError("internal error", Code.Internal);
}

/**
 * An interceptor applying toConnectError to every handler's failure. A stream's request
 * messages that cannot be decoded are refused as the caller's error here; a unary request is
 * decoded before any interceptor runs (see answerUnparsableAsInvalid).
 */
export function errorMappingInterceptor(domain: string, onUnexpected: (err: unknown) => void): Interceptor {
  return (next) => async (req) => {
    try {
      if (req.stream) return await next({ ...req, message: refuseUnparsable(req.message, req.method) });
      const res = await next(req);
      req.contextValues.set(implementationAnsweredKey, true);
      return res;
    } catch (err) {
      throw toConnectError(err, domain, onUnexpected);
    }
  };
}
