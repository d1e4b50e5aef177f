import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientAdminCore } from "../../../src/core/client-admin.js";
import { ClientCredentialAdmin } from "../../../src/core/client-credential-admin.js";
import type { FederatedCredentialInput } from "../../../src/core/federated-rules.js";
import { SqliteStorage } from "../../../src/storage/sqlite/sqlite-storage.js";
import { verifyWithJwks } from "../../helpers/jwks.js";
import { type KeyIssuer, newKey, signJwt, startKeyIssuer, type TestKey } from "../../helpers/key-issuer.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { makeTlsFiles } from "../../helpers/tls-files.js";

// Workload identity federation against the real server: real HTTPS issuers on loopback (with
// their own CA, as a private cluster has) play a Kubernetes API server (OpenID discovery and
// its JWKS), a SPIFFE bundle endpoint and GitHub Actions' JWKS; the workload sends its platform
// token as the client_assertion. Every refusal with its exact OAuth answer.

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const GITHUB = "https://token.actions.githubusercontent.com";
const K8S_SUBJECT = "system:serviceaccount:billing:worker";
const GITHUB_SUBJECT = "repo:octo-org/octo-repo:ref:refs/heads/main";
const SPIFFE_SUBJECT = "spiffe://prod.example/ns/billing/sa/worker";

let dir: string;
let tls: { ca: string; cert: string; key: string };
let server: TestServer;
let admin: ClientAdminCore;
let credentials: ClientCredentialAdmin;
let k8sKey: TestKey;
let spiffeKey: TestKey;
let githubKey: TestKey;
let k8s: KeyIssuer;
let spiffe: KeyIssuer;
let github: KeyIssuer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tessera-federation-"));
  tls = makeTlsFiles(dir);
  [k8sKey, spiffeKey, githubKey] = await Promise.all([newKey("RS256"), newKey("ES256"), newKey("EdDSA")]);
  [k8s, spiffe, github] = await Promise.all([
    startKeyIssuer({ keys: [k8sKey], tls }),
    startKeyIssuer({ keys: [spiffeKey], tls, spiffe: true, jwksPath: "/bundle" }),
    startKeyIssuer({ keys: [githubKey], tls, jwksPath: "/.well-known/jwks" }),
  ]);
  server = await startTestServer({ env: { TESSERA_JWKS_CA_FILE: tls.ca } });
  admin = new ClientAdminCore(server.running.storage, Date.now);
  credentials = new ClientCredentialAdmin(server.running.storage, Date.now, server.issuer, false);
});

afterAll(async () => {
  await server?.stop();
  await Promise.all([k8s, spiffe, github].map((i) => i?.close()));
  rmSync(dir, { recursive: true, force: true });
});

function rule(r: Partial<FederatedCredentialInput> & { issuer: string; subject: string }): FederatedCredentialInput {
  return {
    name: "",
    jwksUri: undefined,
    jwks: undefined,
    audience: undefined,
    conditions: [],
    maxAgeSeconds: undefined,
    requireJti: false,
    ...r,
  };
}

/** A client registered for federation trusting `rules`. */
async function federatedClient(
  on: { admin: ClientAdminCore; credentials: ClientCredentialAdmin },
  ...rules: FederatedCredentialInput[]
): Promise<string> {
  const { client } = await on.admin.create({
    clientId: "",
    name: "workload",
    scopes: ["read"],
    audiences: [],
    tokenTtlSeconds: undefined,
    authMethod: "federated",
  });
  for (const r of rules) await on.credentials.addFederatedCredential(client.clientId, r);
  return client.clientId;
}

/** A platform token as the issuer would mint it: `iss`, `sub`, aud our issuer, valid 10 minutes from `nowMs`. */
function platformToken(key: TestKey, iss: string, sub: string, claims: JWTPayload = {}, nowMs = Date.now()): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return signJwt(key, { iss, sub, aud: server.issuer, iat: now, nbf: now, exp: now + 600, ...claims }, { typ: "JWT" });
}

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

async function token(url: string, clientId: string, assertion: string): Promise<Answer> {
  const res = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
    }).toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function expectRefused(a: Answer, description: string | RegExp): void {
  expect(a.status).toBe(401);
  expect(a.json).toStrictEqual({
    error: "invalid_client",
    error_description: typeof description === "string" ? description : expect.stringMatching(description),
  });
  expect(a.json.error_description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
}

describe("platform tokens accepted", () => {
  it("Kubernetes: a projected service-account token (RS256), keys found through the cluster's discovery document over its own CA", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    const sa = await platformToken(k8sKey, k8s.url, K8S_SUBJECT, {
      "kubernetes.io": { namespace: "billing", serviceaccount: { name: "worker" } },
    });
    const a = await token(server.url, id, sa);
    expect(a.status).toBe(200);
    const { payload } = await verifyWithJwks(server.url, a.json.access_token as string, server.issuer);
    // The token is the client's: sub is the client id, not the workload's subject.
    expect(payload).toMatchObject({ sub: id, client_id: id, scope: "read" });
    expect(k8s.requests("/.well-known/openid-configuration")).toBe(1);
    expect(k8s.requests("/openid/v1/jwks")).toBe(1);
    // Platform tokens are reused: the same one works again (no jti required by default).
    expect((await token(server.url, id, sa)).status).toBe(200);
  });

  it("SPIFFE: a JWT-SVID (ES256) checked with the trust bundle's jwt-svid keys", async () => {
    const id = await federatedClient(
      { admin, credentials },
      rule({ issuer: spiffe.url, subject: SPIFFE_SUBJECT, jwksUri: `${spiffe.url}/bundle` }),
    );
    const svid = await platformToken(spiffeKey, spiffe.url, SPIFFE_SUBJECT);
    expect((await token(server.url, id, svid)).status).toBe(200);
    expect(spiffe.requests("/bundle")).toBe(1);
  });

  it("GitHub Actions: an OIDC token (EdDSA) with the repository owner id the rule requires", async () => {
    const id = await federatedClient(
      { admin, credentials },
      rule({
        issuer: GITHUB,
        subject: GITHUB_SUBJECT,
        jwksUri: github.jwksUri,
        conditions: [{ claim: "repository_owner_id", values: ["123456"] }],
      }),
    );
    const gh = await platformToken(githubKey, GITHUB, GITHUB_SUBJECT, {
      repository: "octo-org/octo-repo",
      repository_owner_id: "123456",
      repository_id: "987",
      jti: randomUUID(),
    });
    expect((await token(server.url, id, gh)).status).toBe(200);
  });

  it("a static JWKS for an issuer Tessera cannot reach (a private cluster)", async () => {
    const offline = await newKey("ES256");
    const id = await federatedClient(
      { admin, credentials },
      rule({ issuer: "https://kubernetes.default.svc", subject: K8S_SUBJECT, jwks: { keys: [offline.jwk] } }),
    );
    expect((await token(server.url, id, await platformToken(offline, "https://kubernetes.default.svc", K8S_SUBJECT))).status).toBe(200);
  });
});

describe("platform tokens refused, each check with its own answer", () => {
  it("an audience other than our issuer (the platform's default audience)", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    const a = await token(server.url, id, await platformToken(k8sKey, k8s.url, K8S_SUBJECT, { aud: "https://kubernetes.default.svc" }));
    expectRefused(
      a,
      "The client_assertion's aud is 'https://kubernetes.default.svc': it must be the audience of the federated credential 'http://tessera.test' alone",
    );
  });

  it("an audience array with our issuer and more", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    const a = await token(
      server.url,
      id,
      await platformToken(k8sKey, k8s.url, K8S_SUBJECT, { aud: [server.issuer, "https://kubernetes.default.svc"] }),
    );
    expectRefused(
      a,
      /^The client_assertion's aud holds 2 values: it must be the audience of the federated credential 'http:\/\/tessera\.test' alone/,
    );
  });

  it("expired", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    const now = Math.floor(Date.now() / 1000);
    const a = await token(
      server.url,
      id,
      await platformToken(k8sKey, k8s.url, K8S_SUBJECT, { iat: now - 900, nbf: now - 900, exp: now - 300 }),
    );
    expectRefused(a, /^The client_assertion expired 30\ds ago$/);
  });

  it("older than the rule's maximum token age", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT, maxAgeSeconds: 600 }));
    const now = Math.floor(Date.now() / 1000);
    const a = await token(
      server.url,
      id,
      await platformToken(k8sKey, k8s.url, K8S_SUBJECT, { iat: now - 1200, nbf: now - 1200, exp: now + 2400 }),
    );
    expectRefused(a, /^The client_assertion was issued 120\ds ago; the federated credential accepts tokens at most 600s old$/);
  });

  it("a claim condition unmet: another owner's repository under the same name", async () => {
    const id = await federatedClient(
      { admin, credentials },
      rule({
        issuer: GITHUB,
        subject: GITHUB_SUBJECT,
        jwksUri: github.jwksUri,
        conditions: [{ claim: "repository_owner_id", values: ["123456"] }],
      }),
    );
    const renamed = await platformToken(githubKey, GITHUB, GITHUB_SUBJECT, { repository_owner_id: "666" });
    expectRefused(
      await token(server.url, id, renamed),
      "The client_assertion's claim 'repository_owner_id' is '666'; the federated credential requires '123456'",
    );
    const missing = await platformToken(githubKey, GITHUB, GITHUB_SUBJECT);
    expectRefused(
      await token(server.url, id, missing),
      "The client_assertion lacks the claim 'repository_owner_id' that the federated credential requires",
    );
  });

  it("the subject of another client", async () => {
    await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    const other = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: "system:serviceaccount:web:frontend" }));
    const a = await token(server.url, other, await platformToken(k8sKey, k8s.url, K8S_SUBJECT));
    expectRefused(a, `No federated credential of this client trusts the subject '${K8S_SUBJECT}' of the issuer '${k8s.url}'`);
  });

  it("an issuer no rule of the client trusts", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    const a = await token(server.url, id, await platformToken(spiffeKey, spiffe.url, K8S_SUBJECT));
    expectRefused(a, `No federated credential of this client trusts the issuer '${spiffe.url}'`);
  });

  it("signed by another key under the issuer's kid", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    const forger = await newKey("RS256");
    const a = await token(server.url, id, await platformToken({ ...forger, kid: k8sKey.kid }, k8s.url, K8S_SUBJECT));
    expectRefused(
      a,
      `The client_assertion's signature does not verify with the key '${k8sKey.kid.slice(0, 40)}...' of the keys of the issuer '${k8s.url}'`,
    );
  });

  it("alg none and HS256 signed with the issuer's public key", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    const genuine = await platformToken(k8sKey, k8s.url, K8S_SUBJECT);
    const [, claims] = genuine.split(".");
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${claims}.AAAA`;
    expectRefused(await token(server.url, id, none), /^The client_assertion's alg 'none' is not accepted/);
    const { SignJWT, decodeJwt } = await import("jose");
    const hs = await new SignJWT(decodeJwt(genuine))
      .setProtectedHeader({ alg: "HS256", kid: k8sKey.kid })
      .sign(new TextEncoder().encode(JSON.stringify(k8sKey.jwk)));
    expectRefused(await token(server.url, id, hs), /^The client_assertion's alg 'HS256' is not accepted/);
  });

  it("a rule that requires a jti: a token without one, and a replayed one", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT, requireJti: true }));
    expectRefused(
      await token(server.url, id, await platformToken(k8sKey, k8s.url, K8S_SUBJECT)),
      "The client_assertion has no jti claim: the federated credential requires one, used once",
    );
    const once = await platformToken(k8sKey, k8s.url, K8S_SUBJECT, { jti: randomUUID() });
    expect((await token(server.url, id, once)).status).toBe(200);
    expectRefused(
      await token(server.url, id, once),
      "The client_assertion's jti was used before: this federated credential accepts each token once",
    );
  });

  it("a rule removed by the admin: its tokens are refused from then on", async () => {
    const id = await federatedClient({ admin, credentials }, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    expect((await token(server.url, id, await platformToken(k8sKey, k8s.url, K8S_SUBJECT))).status).toBe(200);
    const [only] = (await admin.get(id)).federatedCredentials;
    await credentials.removeFederatedCredential(id, only!.credentialId);
    expectRefused(
      await token(server.url, id, await platformToken(k8sKey, k8s.url, K8S_SUBJECT)),
      `No federated credential of this client trusts the issuer '${k8s.url}'`,
    );
  });

  it("an unknown kid: the issuer's keys are fetched once more, then the kid is refused without another fetch", async () => {
    const issuer = await startKeyIssuer({ keys: [k8sKey], tls });
    try {
      const id = await federatedClient({ admin, credentials }, rule({ issuer: issuer.url, subject: K8S_SUBJECT }));
      expect((await token(server.url, id, await platformToken(k8sKey, issuer.url, K8S_SUBJECT))).status).toBe(200);
      expect(issuer.requests("/openid/v1/jwks")).toBe(1);
      const unpublished = await newKey("RS256");
      const first = await token(server.url, id, await platformToken(unpublished, issuer.url, K8S_SUBJECT));
      expectRefused(
        first,
        `The client_assertion's kid '${unpublished.kid.slice(0, 40)}...' names none of the keys of the issuer '${issuer.url}'`,
      );
      expect(issuer.requests("/openid/v1/jwks")).toBe(2);
      expectRefused(
        await token(server.url, id, await platformToken(unpublished, issuer.url, K8S_SUBJECT)),
        /names none of the keys of the issuer/,
      );
      expect(issuer.requests("/openid/v1/jwks")).toBe(2);
    } finally {
      await issuer.close();
    }
  });

  it("a token for a client registered with a secret, or for a client that does not exist: the one generic answer", async () => {
    const secretClient = await server.createClient();
    const sa = await platformToken(k8sKey, k8s.url, K8S_SUBJECT);
    expectRefused(await token(server.url, secretClient.clientId, sa), "Client authentication failed");
    expectRefused(await token(server.url, "nobody-here", sa), "Client authentication failed");
  });
});

describe("an issuer that goes down", () => {
  it("its cached keys serve until the staleness bound (6 h past their freshness), then tokens are refused with the reason", async () => {
    let now = Date.now();
    const clock = () => now;
    const issuer = await startKeyIssuer({ keys: [k8sKey], tls });
    issuer.cacheControl = "max-age=60";
    const own = await startTestServer({ clock, env: { TESSERA_JWKS_CA_FILE: tls.ca } });
    try {
      const on = {
        admin: new ClientAdminCore(own.running.storage, clock),
        credentials: new ClientCredentialAdmin(own.running.storage, clock, own.issuer, false),
      };
      const id = await federatedClient(on, rule({ issuer: issuer.url, subject: K8S_SUBJECT }));
      expect((await token(own.url, id, await platformToken(k8sKey, issuer.url, K8S_SUBJECT, {}, now))).status).toBe(200);
      issuer.mode = "down";
      // Stale (past max-age) and the issuer answers 503: the keys fetched before still serve.
      now += 2 * 60_000;
      const before = issuer.requests();
      expect((await token(own.url, id, await platformToken(k8sKey, issuer.url, K8S_SUBJECT, {}, now))).status).toBe(200);
      expect(issuer.requests()).toBeGreaterThan(before);
      now += 5 * 3_600_000;
      expect((await token(own.url, id, await platformToken(k8sKey, issuer.url, K8S_SUBJECT, {}, now))).status).toBe(200);
      // Past the bound: refused, saying why.
      now += 3_600_000;
      const a = await token(own.url, id, await platformToken(k8sKey, issuer.url, K8S_SUBJECT, {}, now));
      expectRefused(
        a,
        new RegExp(
          `^Cannot fetch the keys of the issuer '${issuer.url.slice(0, 20)}.*HTTP 503.*and the keys fetched before are too old to use$`,
        ),
      );
      // Back up: accepted again.
      issuer.mode = "up";
      now += 60_000;
      expect((await token(own.url, id, await platformToken(k8sKey, issuer.url, K8S_SUBJECT, {}, now))).status).toBe(200);
    } finally {
      await own.stop();
      await issuer.close();
    }
  });
});

describe("the audit trail", () => {
  it("names the external issuer and subject of the tokens a federated workload got", async () => {
    const dbPath = join(dir, "audit.db");
    const own = await startTestServer({ dbPath, env: { TESSERA_JWKS_CA_FILE: tls.ca } });
    const on = {
      admin: new ClientAdminCore(own.running.storage, Date.now),
      credentials: new ClientCredentialAdmin(own.running.storage, Date.now, own.issuer, false),
    };
    const id = await federatedClient(on, rule({ issuer: k8s.url, subject: K8S_SUBJECT }));
    for (let i = 0; i < 3; i++) expect((await token(own.url, id, await platformToken(k8sKey, k8s.url, K8S_SUBJECT))).status).toBe(200);
    // Stopping writes what is pending.
    await own.stop();
    const storage = SqliteStorage.open(dbPath);
    try {
      const [last] = await storage.listAuditEvents(undefined, 10, id);
      expect(last).toMatchObject({
        action: "client.federated_token",
        actor: id,
        target: id,
        changes: { issuer: k8s.url, subject: K8S_SUBJECT, tokens: 3 },
      });
    } finally {
      await storage.close();
    }
  });
});
