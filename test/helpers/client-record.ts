import type { ClientRecord } from "../../src/core/ports/storage.js";

/**
 * A client record with every field storage holds, for tests that write records directly: a
 * secret client named after its id, scope "read", no audience, a one-hour token lifetime, no
 * secrets, created at time 0. `overrides` sets the fields a test cares about.
 */
export function clientRecord(clientId: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    clientId,
    name: clientId,
    scopes: ["read"],
    audiences: [],
    tokenTtlSeconds: 3600,
    disabled: false,
    createTime: 0,
    updateTime: 0,
    tokensNotBefore: null,
    scopeCutoffs: [],
    secrets: [],
    authMethod: "client_secret",
    keys: [],
    jwksUri: null,
    federatedCredentials: [],
    ...overrides,
  };
}
