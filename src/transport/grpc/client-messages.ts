import { create, type JsonObject } from "@bufbuild/protobuf";
import { type Duration, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type Client,
  ClientKeySchema,
  ClientSchema,
  FederatedCredentialSchema,
  type ClientKey as ProtoClientKey,
  type FederatedCredential as ProtoFederatedCredential,
} from "../../../gen/tessera/v1/client_admin_pb.js";
import { AdminError } from "../../core/errors.js";
import type { FederatedCredentialInput } from "../../core/federated-rules.js";
import type { ClientKey, ClientRecord, FederatedCredential } from "../../core/ports/storage.js";

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
    authMethod: c.authMethod,
    jwksUri: c.jwksUri ?? "",
    keys: c.keys.map(toProtoKey),
    federatedCredentials: c.federatedCredentials.map(toProtoFederated),
  });
}

/** A registered key as the API shows it. */
export function toProtoKey(k: ClientKey): ProtoClientKey {
  return create(ClientKeySchema, { kid: k.kid, jwk: k.jwk as JsonObject, createTime: timestampFromMs(k.createTime) });
}

/** A federated credential as the API shows it. */
export function toProtoFederated(f: FederatedCredential): ProtoFederatedCredential {
  return create(FederatedCredentialSchema, {
    credentialId: f.credentialId,
    name: f.name,
    issuer: f.issuer,
    subject: f.subject,
    jwksUri: f.keySource.kind === "jwks_uri" ? f.keySource.uri : "",
    jwks: f.keySource.kind === "jwks" ? ({ keys: f.keySource.keys } as unknown as JsonObject) : undefined,
    audience: f.audience,
    conditions: f.conditions.map((c) => ({ claim: c.claim, values: c.values })),
    maxTokenAge: { seconds: BigInt(f.maxAgeSeconds), nanos: 0 },
    requireJti: f.requireJti,
    createTime: timestampFromMs(f.createTime),
  });
}

/** What an AddFederatedCredential request asks for, for the core to check. */
export function fromProtoFederated(f: ProtoFederatedCredential | undefined): FederatedCredentialInput {
  if (!f) throw new AdminError("invalid_argument", "federated_credential is required");
  return {
    name: f.name,
    issuer: f.issuer,
    subject: f.subject,
    jwksUri: f.jwksUri === "" ? undefined : f.jwksUri,
    jwks: f.jwks,
    audience: f.audience === "" ? undefined : f.audience,
    conditions: f.conditions.map((c) => ({ claim: c.claim, values: c.values })),
    maxAgeSeconds: f.maxTokenAge ? durationSeconds(f.maxTokenAge, "federated_credential.max_token_age") : undefined,
    requireJti: f.requireJti,
  };
}

/** Seconds in a Duration, refusing negative or out-of-range values with the field's name. */
export function durationSeconds(d: Duration, field: string): number {
  const s = Number(d.seconds) + d.nanos / 1e9;
  if (!Number.isFinite(s) || s < 0 || d.nanos < -999_999_999 || d.nanos > 999_999_999) {
    throw new AdminError("invalid_argument", `${field} must be a non-negative duration`);
  }
  return s;
}
