import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { AuditEventSchema, ClientAdmin, type UpdateClientRequest } from "../../../../gen/tessera/v1/client_admin_pb.js";
import { AdminError } from "../../../core/errors.js";
import type { AuditEvent, ClientAuthKind, ClientPatch, ClientRecord } from "../../../core/ports/storage.js";
import { preview } from "../../../core/preview.js";
import { actorOf } from "../admin-context.js";
import { type ClientCredentialHandlersDeps, clientCredentialHandlers } from "../client-credential-handlers.js";
import { durationSeconds, toProtoClient } from "../client-messages.js";

function toProtoEvent(e: AuditEvent) {
  return create(AuditEventSchema, {
    eventId: BigInt(e.eventId ?? 0),
    time: timestampFromMs(e.time),
    actor: e.actor,
    action: e.action,
    target: e.target,
    changes: e.changes as JsonObject,
    origin: e.origin,
  });
}

const MASKABLE = new Set(["name", "scopes", "audiences", "token_ttl", "disabled", "auth_method", "jwks_uri"]);

/** The fields an UpdateClient call changes: those its update_mask names (AIP-134), each checked. */
function patchFromMask(req: UpdateClientRequest): ClientPatch {
  const c = req.client;
  if (!c) throw new AdminError("invalid_argument", "client is required");
  const paths = req.updateMask?.paths ?? [];
  if (paths.length === 0) throw new AdminError("invalid_argument", "update_mask is required and must name at least one field");
  for (const p of paths) {
    if (!MASKABLE.has(p)) {
      throw new AdminError(
        "invalid_argument",
        `update_mask names ${preview(p)} which cannot be updated (allowed are ${[...MASKABLE].join(" ")})`,
      );
    }
  }
  const patch: ClientPatch = {};
  if (paths.includes("name")) patch.name = c.name;
  if (paths.includes("scopes")) patch.scopes = c.scopes;
  if (paths.includes("audiences")) patch.audiences = c.audiences;
  if (paths.includes("token_ttl")) {
    if (!c.tokenTtl) throw new AdminError("invalid_argument", "client.token_ttl is required when update_mask names it");
    patch.tokenTtlSeconds = durationSeconds(c.tokenTtl, "client.token_ttl");
  }
  if (paths.includes("disabled")) patch.disabled = c.disabled;
  // Checked by the core, which names the allowed values.
  if (paths.includes("auth_method")) patch.authMethod = c.authMethod as ClientAuthKind;
  if (paths.includes("jwks_uri")) patch.jwksUri = c.jwksUri === "" ? null : c.jwksUri;
  return patch;
}

/** Registers ClientAdmin on the router, behind `interceptors` (error mapping, admin authentication). */
export function registerClientAdmin(router: ConnectRouter, deps: ClientCredentialHandlersDeps, interceptors: Interceptor[]): void {
  const core = deps.clientAdmin;
  const out = (c: ClientRecord) => toProtoClient(c, deps.clock());
  router.service(
    ClientAdmin,
    {
      ...clientCredentialHandlers(deps),
      async createClient(req, ctx) {
        const { client, clientSecret } = await core.create(
          {
            clientId: req.clientId,
            name: req.name,
            scopes: req.scopes,
            audiences: req.audiences,
            tokenTtlSeconds: req.tokenTtl ? durationSeconds(req.tokenTtl, "token_ttl") : undefined,
            authMethod: req.authMethod === "" ? undefined : (req.authMethod as ClientAuthKind),
          },
          actorOf(ctx),
        );
        return { client: out(client), clientSecret };
      },
      async getClient(req) {
        return { client: out(await core.get(req.clientId)) };
      },
      async listClients(req) {
        const page = await core.list(req.pageSize, req.pageToken);
        return { clients: page.clients.map(out), nextPageToken: page.nextPageToken };
      },
      async updateClient(req, ctx) {
        if (!req.client) throw new AdminError("invalid_argument", "client is required");
        return { client: out(await core.update(req.client.clientId, patchFromMask(req), actorOf(ctx))) };
      },
      async deleteClient(req, ctx) {
        await core.delete(req.clientId, actorOf(ctx));
        return {};
      },
      async revokeClientTokens(req, ctx) {
        return { client: out(await core.revokeTokens(req.clientId, actorOf(ctx))) };
      },
      async listAuditEvents(req) {
        const page = await core.auditTrail(req.pageSize, req.pageToken, req.target);
        return { events: page.events.map(toProtoEvent), nextPageToken: page.nextPageToken };
      },
      async rotateClientSecret(req, ctx) {
        const grace = req.gracePeriod ? durationSeconds(req.gracePeriod, "grace_period") : 0;
        const { client, clientSecret } = await core.rotateSecret(req.clientId, grace, actorOf(ctx));
        return { client: out(client), clientSecret };
      },
    },
    { interceptors },
  );
}
