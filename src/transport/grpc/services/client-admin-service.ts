import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs, type Duration } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { ClientAdminCore } from "../../../core/client-admin.js";
import { AdminError } from "../../../core/errors.js";
import type { AuditEvent, ClientPatch, ClientRecord } from "../../../core/ports/storage.js";
import { preview } from "../../../core/preview.js";
import { AuditEventSchema, ClientAdmin, ClientSchema, type Client, type UpdateClientRequest } from "../../../../gen/tessera/v1/client_admin_pb.js";
import { actorOf } from "../admin-context.js";

/** Converts a stored client to its API form: secret metadata only, never a hash. */
export function toProtoClient(c: ClientRecord, now: number): Client {
  return create(ClientSchema, {
    clientId: c.clientId,
    name: c.name,
    scopes: c.scopes,
    audiences: c.audiences,
    tokenTtl: { seconds: BigInt(c.tokenTtlSeconds), nanos: 0 },
    disabled: c.disabled,
    createTime: timestampFromMs(c.createTime),
    updateTime: timestampFromMs(c.updateTime),
    tokensNotBefore: c.tokensNotBefore === null ? undefined : timestampFromMs(c.tokensNotBefore),
    secrets: c.secrets
      .filter((s) => s.expireTime === null || s.expireTime > now)
      .map((s) => ({
        secretId: s.secretId,
        createTime: timestampFromMs(s.createTime),
        expireTime: s.expireTime === null ? undefined : timestampFromMs(s.expireTime),
        lastUsedTime: s.lastUsedTime === null ? undefined : timestampFromMs(s.lastUsedTime),
      })),
  });
}

/** Seconds in a Duration, refusing negative or out-of-range values with the field's name. */
export function durationSeconds(d: Duration, field: string): number {
  const s = Number(d.seconds) + d.nanos / 1e9;
  if (!Number.isFinite(s) || s < 0 || d.nanos < -999_999_999 || d.nanos > 999_999_999) {
    throw new AdminError("invalid_argument", `${field} must be a non-negative duration`);
  }
  return s;
}

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

const MASKABLE = new Set(["name", "scopes", "audiences", "token_ttl", "disabled"]);

/** The fields an UpdateClient call changes: those its update_mask names (AIP-134), each checked. */
function patchFromMask(req: UpdateClientRequest): ClientPatch {
  const c = req.client;
  if (!c) throw new AdminError("invalid_argument", "client is required");
  const paths = req.updateMask?.paths ?? [];
  if (paths.length === 0) throw new AdminError("invalid_argument", "update_mask is required and must name at least one field");
  for (const p of paths) {
    if (!MASKABLE.has(p)) {
      throw new AdminError("invalid_argument", `update_mask names ${preview(p)} which cannot be updated (allowed are ${[...MASKABLE].join(" ")})`);
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
  return patch;
}

/** Registers ClientAdmin on the router, behind `interceptors` (error mapping, admin authentication). */
export function registerClientAdmin(
  router: ConnectRouter,
  core: ClientAdminCore,
  clock: () => number,
  interceptors: Interceptor[],
): void {
  const out = (c: ClientRecord) => toProtoClient(c, clock());
  router.service(
    ClientAdmin,
    {
      async createClient(req, ctx) {
        const { client, clientSecret } = await core.create({
          clientId: req.clientId,
          name: req.name,
          scopes: req.scopes,
          audiences: req.audiences,
          tokenTtlSeconds: req.tokenTtl ? durationSeconds(req.tokenTtl, "token_ttl") : undefined,
        }, actorOf(ctx));
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
