import type { JSONWebKeySet } from "jose";
import { ClientAdminCore } from "../../src/core/client-admin.js";
import type { IntrospectDeps } from "../../src/core/introspect-token.js";
import { issueToken } from "../../src/core/issue-token.js";
import { SecretUseTracker } from "../../src/core/secret-use.js";
import type { ClientCredentials } from "../../src/core/token-request.js";
import { KeyRing } from "../../src/keys/key-ring.js";
import { MemoryStorage } from "../../src/storage/memory/memory-storage.js";
import { testPolicy } from "../keys/policy.js";

/** Not on a second boundary, so flooring to seconds (iat, cut-offs) is visible. */
export const START = Date.parse("2030-01-02T03:04:05.678Z");
/** The issuer every world's tokens name. */
export const ISSUER = "https://tessera.example";

/** A registered client's credentials as a caller presents them. */
export interface TestClient {
  clientId: string;
  clientSecret: string;
  credentials: ClientCredentials;
}

/**
 * One Tessera without a transport: a MemoryStorage holding clients and keys, a real KeyRing,
 * the admin core and a fake clock the test moves by setting `now`.
 */
export async function tokenWorld() {
  const w = {
    now: START,
    clock: () => w.now,
    storage: new MemoryStorage(),
    secretUse: new SecretUseTracker(),
  };
  const keys = await KeyRing.open(w.storage, { policy: testPolicy("ES256"), clock: w.clock });
  const admin = new ClientAdminCore(w.storage, w.clock);
  const deps: IntrospectDeps = {
    jwks: () => keys.jwks as JSONWebKeySet,
    keys,
    issuer: ISSUER,
    storage: w.storage,
    clock: w.clock,
    secretUse: w.secretUse,
  };

  async function newClient(scopes: string[], audiences: string[] = [], ttl = 600): Promise<TestClient> {
    const { client, clientSecret } = await admin.create({ clientId: "", name: "test client", scopes, audiences, tokenTtlSeconds: ttl });
    return {
      clientId: client.clientId,
      clientSecret,
      credentials: { clientId: client.clientId, clientSecret, method: "client_secret_basic" },
    };
  }

  /** Issues a token through the real token logic (optionally for another issuer, signed by us). */
  async function tokenFor(c: TestClient, opts: { scope?: string; audiences?: string[]; issuer?: string } = {}): Promise<string> {
    const res = await issueToken(
      { storage: w.storage, signer: keys, clock: w.clock, issuer: opts.issuer ?? ISSUER, secretUse: w.secretUse },
      { credentials: c.credentials, scope: opts.scope, audiences: opts.audiences ?? [] },
    );
    return res.access_token;
  }

  return Object.assign(w, { keys, admin, deps, newClient, tokenFor });
}

/** The payload of a compact JWS, unverified (for reading exp, iat, jti in assertions). */
export function payloadOf(token: string): { exp: number; iat: number; jti: string; [claim: string]: unknown } {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as ReturnType<typeof payloadOf>;
}
