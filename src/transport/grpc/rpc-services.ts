import { Code, type ConnectRouter } from "@connectrpc/connect";
import { fileDescriptorSetBase64 } from "../../../gen/reflection_set.js";
import { ClientAdmin } from "../../../gen/tessera/v1/client_admin_pb.js";
import { KeyAdmin } from "../../../gen/tessera/v1/key_admin_pb.js";
import type { AdminAuthDeps } from "../../core/admin-auth.js";
import type { ClientAdminCore } from "../../core/client-admin.js";
import type { AssertionDeps } from "../../core/client-auth/assertion-deps.js";
import type { ClientCredentialAdmin } from "../../core/client-credential-admin.js";
import type { Clock } from "../../core/clock.js";
import { OAuthError } from "../../core/errors.js";
import type { KeyRing } from "../../keys/key-ring.js";
import type { RequestObserver } from "../../observability/request-observer.js";
import { adminAuthInterceptor } from "./admin-context.js";
import { adminObserverInterceptor } from "./admin-observer.js";
import { connectionKey, originKey } from "./context.js";
import { errorMappingInterceptor } from "./errors.js";
import type { HealthState } from "./health-state.js";
import { registerClientAdmin } from "./services/client-admin-service.js";
import { registerHealth } from "./services/health-service.js";
import { registerKeyAdmin } from "./services/key-admin-service.js";
import { REFLECTION_SERVICE_NAMES, registerReflection } from "./services/reflection-service.js";
import { registerTokenService, tokenEndpointOf } from "./services/token-service.js";
import type { TokenServiceDeps } from "./token-requests.js";
import type { UnparsableReporter } from "./unparsable-requests.js";

// gRPC clients that check health watch one service per connection; this leaves room for every
// name the server reports, twice, and stops one connection from holding the process's share.
const HEALTH_WATCHES_PER_CONNECTION = 8;

/** What the RPC services need. */
export interface RpcServicesDeps extends TokenServiceDeps, AdminAuthDeps {
  clientAdmin: ClientAdminCore;
  clientCredentials: ClientCredentialAdmin;
  assertions: AssertionDeps;
  keys: KeyRing;
  clock: Clock;
  health: HealthState;
  observer: RequestObserver;
  /** Health Watch streams open at once in the process. */
  maxHealthWatches: number;
  /** Reports unexpected errors (logged, never sent). */
  onUnexpected: (err: unknown) => void;
}

/** Registers every RPC service on a router: the one place that lists what the port serves. */
export function registerRpcServices(deps: RpcServicesDeps): (router: ConnectRouter) => void {
  const errors = errorMappingInterceptor(deps.issuer, deps.onUnexpected);
  // Service options replace the router's interceptors, so the error mapping is passed again.
  const admin = [adminObserverInterceptor(deps.observer), errors, adminAuthInterceptor(deps)];
  return (router) => {
    registerTokenService(router, deps);
    registerClientAdmin(router, deps, admin);
    registerKeyAdmin(router, deps.keys, deps.clock, admin);
    registerHealth(router, deps.health, {
      max: deps.maxHealthWatches,
      perConnection: HEALTH_WATCHES_PER_CONNECTION,
      connectionOf: (ctx) => ctx.values.get(connectionKey),
    });
    // Last: reflection lists every service registered above, and itself.
    registerReflection(router, { services: [...registeredServiceNames(router), ...REFLECTION_SERVICE_NAMES], fileDescriptorSetBase64 });
  };
}

/** The services whose calls the admin observer reports. */
const ADMIN_SERVICES: ReadonlySet<string> = new Set([ClientAdmin.typeName, KeyAdmin.typeName]);

/** How a token-family call with an undecodable request message is logged and counted. */
const UNPARSABLE = new OAuthError("invalid_request", "The request message is not valid protobuf");

/**
 * Logs and counts a call refused because its request message could not be decoded, as its
 * service reports every call: token-family calls as invalid_request, admin calls as
 * InvalidArgument. Such a call never reaches the service, nor the interceptors that report it.
 */
export function reportUnparsable(observer: RequestObserver): UnparsableReporter {
  return (method, values, durationMs) => {
    const origin = values.get(originKey);
    if (ADMIN_SERVICES.has(method.parent.typeName)) {
      observer.adminCall(method.parent.name, method.name, Code[Code.InvalidArgument], durationMs, undefined, origin);
      return;
    }
    const endpoint = tokenEndpointOf(method);
    if (endpoint !== undefined)
      observer.tokenRequest({ transport: "grpc", endpoint, clientId: undefined, scope: undefined, origin, error: UNPARSABLE, durationMs });
  };
}

/** The fully-qualified names of the services registered on `router`, in registration order. */
function registeredServiceNames(router: ConnectRouter): string[] {
  return [...new Set(router.handlers.map((h) => h.service.typeName))];
}
