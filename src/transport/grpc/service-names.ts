import { ClientAdmin } from "../../../gen/tessera/v1/client_admin_pb.js";
import { KeyAdmin } from "../../../gen/tessera/v1/key_admin_pb.js";
import { TokenService } from "../../../gen/tessera/v1/token_service_pb.js";

/** The token service's health name: NOT_SERVING once clients in memory may no longer be served (database gone too long). */
export const TOKEN_SERVICE_NAME: string = TokenService.typeName;

/** The names grpc.health.v1 reports: "" for the whole server, and each of Tessera's own services. */
export const HEALTH_SERVICE_NAMES: readonly string[] = ["", TokenService.typeName, ClientAdmin.typeName, KeyAdmin.typeName];

/** The services that need database writes: NOT_SERVING while the database cannot be written. */
export const WRITE_SERVICE_NAMES: readonly string[] = [ClientAdmin.typeName, KeyAdmin.typeName];
